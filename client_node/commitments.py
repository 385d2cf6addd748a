"""A partner's data commitments: what it trained on, provable to one customer at a time.

Each round the node sends only the Merkle root over the sorted leaves of the customers it
trained on (it goes into the audit log). A leaf is the customer's pseudonym keyed with that
round's key (``anonymization.keyed_leaves``), so a customer's leaf changes every round and the
neighbours a non-membership proof shows cannot be followed from round to round. The leaves stay
at the partner, in its state folder, so that later, asked about one customer, the partner can
show that customer's leaf was in that round's commitment (an inclusion proof) or was not (the
two adjacent leaves of the sorted list), and open it to the officer (the pseudonym and that one
round's key).

Rounds committed before leaves were keyed kept the bare pseudonyms (``round-NNN.txt``); they
are still proven as they were committed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from anonymization import (
    Commitment,
    LeafOpening,
    MembershipProof,
    Pseudonymizer,
    data_commitment,
    prove_membership,
    round_key,
    round_leaves,
    verify_membership,
    verify_opened_membership,
)
from audit import MerkleLog, parse_record
from client_node.errors import ClientNodeError
from client_node.node_state import NodeState
from insight import replace_atomically


def commitment_path(state: NodeState, run_id: str, server_round: int) -> Path:
    return state.root / "commitments" / run_id / f"round-{server_round:03d}.leaves"


def _bare_path(state: NodeState, run_id: str, server_round: int) -> Path:
    """A round committed before leaves were keyed: its bare pseudonyms."""
    return commitment_path(state, run_id, server_round).with_suffix(".txt")


def _round_key(state: NodeState, run_id: str, server_round: int) -> bytes:
    return round_key(state.pseudonym_key(), run_id=run_id, server_round=server_round)


def commit(state: NodeState, run_id: str, server_round: int, pseudonyms: list[str]) -> Commitment:
    """The round's commitment over the keyed leaves of `pseudonyms`; the sorted leaves are kept
    (atomically) at the partner."""
    leaves = round_leaves(_round_key(state, run_id, server_round), pseudonyms)
    path = commitment_path(state, run_id, server_round)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replace_atomically(path, mode=0o666, fsync=False) as fh:
        fh.write(("\n".join(leaves) + "\n").encode("utf-8"))
    return data_commitment(leaves)


@dataclass(frozen=True)
class CustomerProof:
    commitment: Commitment
    proof: MembershipProof
    member: bool
    audit_root: str | None
    # What the officer needs to check this one proof (None for a round of bare pseudonyms).
    opening: LeafOpening | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "commitment": self.commitment.to_dict(),
            "proof": self.proof.to_dict(),
            "member": self.member,
            "audit_log_root": self.audit_root,
            "opening": self.opening.to_dict() if self.opening else None,
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
    pseudonym = Pseudonymizer(state.pseudonym_key()).pseudonym(customer_id)
    opening: LeafOpening | None = None
    if path.exists():
        opening = LeafOpening(pseudonym, _round_key(state, run_id, server_round))
        target = opening.leaf
    elif _bare_path(state, run_id, server_round).exists():
        path, target = _bare_path(state, run_id, server_round), pseudonym
    else:
        raise ClientNodeError(f"no commitment kept for run {run_id} round {server_round} ({path})")
    leaves = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
    commitment = data_commitment(leaves)
    proof = prove_membership(leaves, target)
    if opening is None:
        member = verify_membership(commitment, proof)
    else:
        member = verify_opened_membership(commitment, proof, opening)
    audit_root = None
    if run_dir is not None:
        audit_root = _audit_commitment(run_dir, server_round, partner)
        if audit_root != commitment.root.hex():
            raise ClientNodeError(
                f"the audit log records commitment {audit_root} for {partner} in round "
                f"{server_round}; the kept list gives {commitment.root.hex()}"
            )
    return CustomerProof(commitment, proof, member, audit_root, opening)


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
