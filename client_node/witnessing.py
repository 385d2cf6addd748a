"""The partner as a witness of the coordinator's audit log.

When the partner joins a run (it approves a manifest naming the log in a deployment; at the
run's first ``hello`` in a simulation, whose partner homes are made for the run) it pins the
log's exact origin and the coordinator's verifier key in its witness state (``witness.json``).
From then on it cosigns only checkpoints of a pinned origin signed by the pinned key; the key a
request carries is never trusted.

Each round the coordinator sends the new signed checkpoint, a consistency proof from the last
checkpoint this node cosigned, and the newest record with its inclusion proof. The node checks
the checkpoint with ``audit.Witness``, then that the record says about this partner exactly
what it sent (``check_own_entry``: its signed statement, update hash and data commitment, or
its own witness key in the run start), and only then returns a C2SP cosignature. A node shown
a history that does not extend the one it cosigned records the split view and refuses to train
from then on: it no longer trusts the run.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from audit import (
    COSIGNATURE_V1,
    AuditError,
    Checkpoint,
    NoteSigner,
    SignatureError,
    SplitViewError,
    VerificationError,
    Witness,
    leaf_hash,
    parse_record,
    parse_vkey,
    read_signer,
    sign_statement,
    verify_inclusion,
    write_signer,
    write_vkey,
)
from client_node.node_state import NodeState

logger = logging.getLogger(__name__)

SPLIT_VIEW_FILE = "split-view.txt"
STATEMENTS_DIR = "statements"
WITNESS_VKEY_FILE = "witness.vkey"


def cosigner(state: NodeState, name: str) -> NoteSigner:
    """The node's cosigner key (Ed25519, C2SP type 0x04), created on first use (0600), with its
    public ``witness.vkey`` beside it for the partner to hand to privacy officers."""
    path = state.witness_key_path
    if not path.exists():
        write_signer(path, NoteSigner.generate(name, COSIGNATURE_V1))
        logger.info("created a witness key in the node's state folder")
    signer = read_signer(path)
    public = state.root / WITNESS_VKEY_FILE
    if not public.exists():
        write_vkey(public, signer.verifier)
    return signer


def witness(state: NodeState, name: str) -> Witness:
    """The node's witness: its cosigner key and the logs pinned in its state."""
    return Witness(cosigner(state, name), state.witness_state_path)


def pin_log(state: NodeState, name: str, origin: str, coordinator_vkey: str) -> None:
    """Follow the log ``origin`` under the coordinator's key from now on.

    Raises:
        AuditError: a malformed key, or ``origin`` already pinned to another key.
    """
    witness(state, name).pin(origin, parse_vkey(coordinator_vkey))
    logger.info("witness pinned the audit log %s", origin)


def pinned_origins(state: NodeState, name: str) -> dict[str, str]:
    """origin -> pinned coordinator vkey."""
    if not state.witness_state_path.exists():
        return {}
    return {origin: key.vkey for origin, key in witness(state, name).pins().items()}


def _statement_path(state: NodeState, origin: str, server_round: int) -> Path:
    tag = hashlib.sha256(origin.encode()).hexdigest()[:16]
    return state.root / STATEMENTS_DIR / f"{tag}-{server_round}.json"


def sign_round_statement(
    state: NodeState, name: str, statement: Mapping[str, Any]
) -> dict[str, Any]:
    """Sign the round's statement with the witness key and keep it (what this partner sent,
    checked again before it cosigns the round's record); returns the signed statement."""
    signed = sign_statement(cosigner(state, name), statement)
    path = _statement_path(state, str(statement["origin"]), int(statement["round"]))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(json.dumps(signed, sort_keys=True) + "\n", encoding="utf-8")
    return signed


def sent_statement(state: NodeState, origin: str, server_round: int) -> dict[str, Any] | None:
    """The signed statement this partner sent for ``server_round`` of the log ``origin``."""
    path = _statement_path(state, origin, server_round)
    if not path.exists():
        return None
    value = json.loads(path.read_text(encoding="utf-8"))
    return value if isinstance(value, dict) else None


def check_own_entry(
    state: NodeState,
    name: str,
    checkpoint: Checkpoint,
    leaf: bytes,
    leaf_proof: list[bytes],
) -> None:
    """The newest record (``leaf``, the checkpoint's last leaf) says about this partner exactly
    what it sent: in a run start, its own witness key; in a round, its signed statement, update
    hash and data commitment when it trained, nothing when it did not.

    Raises:
        VerificationError: naming what differs (the witness refuses to cosign).
    """
    verify_inclusion(
        leaf_hash(leaf), checkpoint.tree_size - 1, checkpoint.tree_size, leaf_proof, checkpoint.root
    )
    record = parse_record(leaf)
    if record["type"] == "run_start":
        mine = cosigner(state, name).verifier.vkey
        if record["partners"].get(name) != mine:
            raise VerificationError(
                f"the run start lists another witness key for {name} than this partner's"
            )
        return
    if record["type"] != "round":
        return
    rnd = record["round"]
    sent = sent_statement(state, checkpoint.origin, rnd)
    logged = record.get("dp", {}).get(name)
    if sent is None:
        if name in record["participants"] or logged is not None:
            raise VerificationError(
                f"round {rnd} shows an update from {name}, which this partner never sent"
            )
        return
    if name not in record["participants"]:
        if name in record["dropouts"] and logged in (None, sent):
            return  # the update was rejected or lost: not in the model, not misreported
        released = record["participants"] or (
            record["model_hash_after"] != record["model_hash_before"]
        )
        if not released and logged in (None, sent):
            return  # the round released nothing (central DP withheld it): no update was used
        raise VerificationError(f"round {rnd}: this partner's update is missing from the record")
    statement = sent["statement"]
    if logged != sent:
        raise VerificationError(f"round {rnd}: the record's dp.{name} is not the statement sent")
    for field, column in (
        ("update_hash", "update_hashes"),
        ("data_commitment", "data_commitments"),
        ("epsilon_cumulative", "epsilon_cumulative"),
        ("epsilon_budget", "epsilon_budget"),
    ):
        if field in statement and record[column].get(name) != statement[field]:
            raise VerificationError(
                f"round {rnd}: the record's {column}.{name} is not what this partner sent",
                expected=statement[field],
                computed=record[column].get(name),
            )


def cosign(
    state: NodeState,
    name: str,
    *,
    checkpoint: str,
    proof: list[bytes],
    coordinator_vkey: str,
    leaf: bytes,
    leaf_proof: list[bytes],
) -> str:
    """Check and cosign ``checkpoint`` of a pinned log; return the cosignature line.

    Raises:
        SignatureError: the origin is not pinned, or the key is not the pinned one.
        VerificationError: the record misstates this partner (``check_own_entry``).
        SplitViewError: the history forks (recorded; the node trains no more).
    """
    node_witness = witness(state, name)
    origin = checkpoint.lstrip().split("\n", 1)[0]
    pinned = node_witness.trusted(origin)
    if pinned is None:
        raise SignatureError(f"this partner did not join the log {origin!r}; not cosigning it")
    if coordinator_vkey and coordinator_vkey.strip() != pinned.vkey:
        raise SignatureError(f"log {origin!r} is signed by another key than the one pinned")

    def before(checked: Checkpoint) -> None:
        check_own_entry(state, name, checked, leaf, leaf_proof)

    try:
        return node_witness.cosign(checkpoint, proof, before_cosign=before).line
    except SplitViewError as exc:
        (state.root / SPLIT_VIEW_FILE).write_text(str(exc) + "\n", encoding="utf-8")
        logger.error("audit log split view: %s; this node refuses to train from now on", exc)
        raise


def refusal(exc: AuditError) -> str:
    """The one-line reason a cosignature is refused."""
    return f"split view: {exc}" if isinstance(exc, SplitViewError) else f"not cosigned: {exc}"


def latest_size(state: NodeState, name: str, origin: str) -> int:
    if not state.witness_state_path.exists():
        return 0
    return witness(state, name).latest(origin)[0]


def split_view_reason(state: NodeState) -> str:
    path = state.root / SPLIT_VIEW_FILE
    return path.read_text(encoding="utf-8").strip() if path.exists() else ""
