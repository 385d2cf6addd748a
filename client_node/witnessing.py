"""The partner as a witness of the coordinator's audit log.

Each round the coordinator sends the new signed checkpoint and a consistency proof from the
last checkpoint this node cosigned. The node checks both with ``audit.Witness`` (which keeps the
newest cosigned size and root in ``witness.json``) and returns a C2SP cosignature. A node shown a
history that does not extend the one it cosigned records the split view and refuses to train
from then on: it no longer trusts the run.
"""

from __future__ import annotations

import logging

from audit import (
    COSIGNATURE_V1,
    NoteSigner,
    SplitViewError,
    Witness,
    parse_vkey,
    read_signer,
    write_signer,
)
from client_node.node_state import NodeState

logger = logging.getLogger(__name__)

SPLIT_VIEW_FILE = "split-view.txt"


def cosigner(state: NodeState, name: str) -> NoteSigner:
    """The node's cosigner key (Ed25519, C2SP type 0x04), created on first use (0600)."""
    path = state.witness_key_path
    if not path.exists():
        write_signer(path, NoteSigner.generate(name, COSIGNATURE_V1))
        logger.info("created a witness key in the node's state folder")
    return read_signer(path)


def cosign(
    state: NodeState, name: str, *, checkpoint: str, proof: list[bytes], coordinator_vkey: str
) -> str:
    """Check and cosign ``checkpoint``; return the cosignature line.

    Raises ``SplitViewError`` (after recording it) when the history forks.
    """
    verifier = parse_vkey(coordinator_vkey)
    # The log's origin is the key's name, or the key's name and the run's (one coordinator key
    # signs the logs of all its runs, each its own log): follow exactly that log with the key.
    origin = checkpoint.lstrip().split("\n", 1)[0]
    ours = origin == verifier.name or origin.startswith(verifier.name + "/")
    logs = {origin: verifier} if ours else {}  # any other origin: the witness refuses it
    witness = Witness(cosigner(state, name), state.witness_state_path, logs)
    try:
        return witness.cosign(checkpoint, proof).line
    except SplitViewError as exc:
        (state.root / SPLIT_VIEW_FILE).write_text(str(exc) + "\n", encoding="utf-8")
        logger.error("audit log split view: %s; this node refuses to train from now on", exc)
        raise


def latest_size(state: NodeState, name: str, origin: str) -> int:
    if not state.witness_state_path.exists():
        return 0
    witness = Witness(cosigner(state, name), state.witness_state_path, {})
    return witness.latest(origin)[0]


def split_view_reason(state: NodeState) -> str:
    path = state.root / SPLIT_VIEW_FILE
    return path.read_text(encoding="utf-8").strip() if path.exists() else ""
