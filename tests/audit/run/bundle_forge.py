"""A forger of proof bundles for the fuzz tests: a correctly signed bundle around any leaf
bytes, as a coordinator holding its own key could make one (no test functions here)."""

from __future__ import annotations

import base64
from typing import Any

from audit import Checkpoint, MerkleLog, NoteSignature, NoteSigner, SignedNote
from audit.run.proof_bundle import BUNDLE_FORMAT, tlog_proof_text


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def forged_bundle(start_leaf: bytes, round_leaf: bytes, signer: NoteSigner) -> dict[str, Any]:
    """A bundle whose checkpoint ``signer`` signs over the two-leaf log
    ``[start_leaf, round_leaf]``: every proof and signature in it is valid, whatever the
    leaves hold."""
    log = MerkleLog()
    log.extend([start_leaf, round_leaf])
    checkpoint = Checkpoint(signer.name, 2, log.root())
    note = SignedNote(checkpoint.text).with_signature(NoteSignature.create(checkpoint.text, signer))
    text = note.format()
    entries = [
        {"index": i, "leaf": _b64(log.leaf(i)), "inclusion_proof": [_b64(h) for h in proof]}
        for i, proof in ((0, log.inclusion_proof(0, 2)), (1, log.inclusion_proof(1, 2)))
    ]
    return {
        "format": BUNDLE_FORMAT,
        "origin": signer.name,
        "round": 1,
        "coordinator_vkey": signer.verifier.vkey,
        "checkpoint": text,
        "entries": entries,
        "tlog_proof": tlog_proof_text(1, log.inclusion_proof(1, 2), text),
    }
