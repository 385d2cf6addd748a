"""A partner's data commitments: what it trained on, provable to one customer at a time.

Each round the node sends only the Merkle root over the sorted pseudonyms it trained on (it goes
into the audit log). The list itself stays at the partner, in its state folder, so that later,
asked about one customer, the partner can show that customer's pseudonym was in that round's
commitment (an inclusion proof) or was not (the two adjacent leaves of the sorted list).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from anonymization import (
    Commitment,
    MembershipProof,
    Pseudonymizer,
    data_commitment,
    prove_membership,
    verify_membership,
)
from audit import MerkleLog, parse_record
from client_node.errors import ClientNodeError
from client_node.node_state import NodeState
from insight import replace_atomically


def commitment_path(state: NodeState, run_id: str, server_round: int) -> Path:
    return state.root / "commitments" / run_id / f"round-{server_round:03d}.txt"


def commit(state: NodeState, run_id: str, server_round: int, pseudonyms: list[str]) -> Commitment:
    """The round's commitment; the sorted list is kept (atomically) at the partner."""
    unique = sorted(set(pseudonyms))
    path = commitment_path(state, run_id, server_round)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replace_atomically(path, mode=0o666, fsync=False) as fh:
        fh.write(("\n".join(unique) + "\n").encode("utf-8"))
    return data_commitment(unique)


@dataclass(frozen=True)
class CustomerProof:
    commitment: Commitment
    proof: MembershipProof
    member: bool
    audit_root: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "commitment": self.commitment.to_dict(),
            "proof": self.proof.to_dict(),
            "member": self.member,
            "audit_log_root": self.audit_root,
        }


def prove_customer(
    state: NodeState,
    customer_id: str,
    *,
    run_id: str,
    server_round: int,
    partner: str,
    run_dir: Path | None = None,
) -> CustomerProof:
    """Prove whether ``customer_id`` was in the round's commitment; with ``run_dir``, also
    check that the commitment is the one the audit log recorded for ``partner``."""
    path = commitment_path(state, run_id, server_round)
    if not path.exists():
        raise ClientNodeError(f"no commitment kept for run {run_id} round {server_round} ({path})")
    pseudonyms = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
    pseudonym = Pseudonymizer(state.pseudonym_key()).pseudonym(customer_id)
    commitment = data_commitment(pseudonyms)
    proof = prove_membership(pseudonyms, pseudonym)
    member = verify_membership(commitment, proof)
    audit_root = None
    if run_dir is not None:
        audit_root = _audit_commitment(run_dir, server_round, partner)
        if audit_root != commitment.root.hex():
            raise ClientNodeError(
                f"the audit log records commitment {audit_root} for {partner} in round "
                f"{server_round}; the kept list gives {commitment.root.hex()}"
            )
    return CustomerProof(commitment, proof, member, audit_root)


def _audit_commitment(run_dir: Path, server_round: int, partner: str) -> str:
    log = MerkleLog(run_dir / "audit" / "log.sqlite", readonly=True)
    try:
        for data in log.leaves(0, log.size):
            record = parse_record(data)
            if record["type"] == "round" and record["round"] == server_round:
                value = record["data_commitments"].get(partner)
                if value is None:
                    raise ClientNodeError(f"{partner} made no commitment in round {server_round}")
                return str(value)
    finally:
        log.close()
    raise ClientNodeError(f"the audit log has no round {server_round}")


def proof_json(proof: CustomerProof) -> str:
    return json.dumps(proof.to_dict(), indent=2, sort_keys=True)
