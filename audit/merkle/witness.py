"""A witness: a partner that cosigns the coordinator's checkpoints only along one history.

The witness remembers, per log origin, the newest tree size and root it cosigned. Shown a
new checkpoint it checks the log's signature and a consistency proof from what it
remembers; only then does it record the new head and return a C2SP tlog-cosignature
(Ed25519 cosignature/v1). Two checkpoints that no consistency proof links are a split view.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from audit.merkle.atomic_write import write_atomic
from audit.merkle.checkpoint import Checkpoint
from audit.merkle.errors import (
    FormatError,
    SignatureError,
    SplitViewError,
    StaleCheckpointError,
    VerificationError,
)
from audit.merkle.hashing import EMPTY_ROOT
from audit.merkle.note_keys import COSIGNATURE_V1, NoteSigner, NoteVerifier
from audit.merkle.proof_verification import verify_consistency
from audit.merkle.signed_note import NoteSignature, SignedNote, parse_note

__all__ = ["Witness"]

logger = logging.getLogger(__name__)

_STATE_VERSION = 1


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


class Witness:
    """Cosigns checkpoints of trusted logs, never two inconsistent ones.

    Args:
        signer: The witness's cosigner key (signature type 0x04).
        state_path: JSON file of the newest cosigned head per origin (created on first use).
        logs: Trusted logs: origin -> the log's note verifier key.
    """

    def __init__(
        self,
        signer: NoteSigner,
        state_path: str | os.PathLike[str],
        logs: Mapping[str, NoteVerifier],
    ) -> None:
        if signer.signature_type != COSIGNATURE_V1:
            raise FormatError("a witness signs with a cosigner key (signature type 0x04)")
        self.signer = signer
        self.state_path = Path(state_path)
        self.logs = dict(logs)

    @property
    def verifier(self) -> NoteVerifier:
        """The witness's public cosigner key (what the run-start record lists)."""
        return self.signer.verifier

    def latest(self, origin: str) -> tuple[int, bytes]:
        """Newest (tree size, root) cosigned for ``origin``; (0, empty root) if none."""
        head = self._load().get(origin)
        return (0, EMPTY_ROOT) if head is None else head

    def cosign(
        self,
        note: str | SignedNote,
        consistency_proof: Sequence[bytes],
        *,
        timestamp: int | None = None,
    ) -> NoteSignature:
        """Check a signed checkpoint and cosign it.

        Requires ``consistency_proof`` to lead from ``latest(origin)`` to the checkpoint.

        Raises:
            SignatureError: unknown origin, or the log's signature does not verify.
            StaleCheckpointError: the checkpoint is smaller than the one already cosigned.
            SplitViewError: the checkpoint is not consistent with the cosigned history.
        """
        signed = parse_note(note) if isinstance(note, str) else note
        checkpoint = Checkpoint.from_text(signed.text)
        log_key = self.logs.get(checkpoint.origin)
        if log_key is None:
            raise SignatureError(f"witness does not follow a log with origin {checkpoint.origin!r}")
        signed.verify(log_key)
        heads = self._load()
        old_size, old_root = heads.get(checkpoint.origin, (0, EMPTY_ROOT))
        if checkpoint.tree_size < old_size:
            raise StaleCheckpointError(
                f"checkpoint of size {checkpoint.tree_size} is older "
                f"than size {old_size} already cosigned"
            )
        try:
            verify_consistency(
                old_size, checkpoint.tree_size, consistency_proof, old_root, checkpoint.root
            )
        except VerificationError as exc:
            logger.warning(
                "witness: split view on log %s at sizes %d -> %d",
                checkpoint.origin,
                old_size,
                checkpoint.tree_size,
            )
            raise SplitViewError(
                f"split view: log {checkpoint.origin} shows size {checkpoint.tree_size} root "
                f"{_b64(checkpoint.root)}, not consistent with size {old_size} root "
                f"{_b64(old_root)} cosigned before ({exc})",
                expected=old_root,
                computed=checkpoint.root,
            ) from exc
        when = int(time.time()) if timestamp is None else timestamp
        cosignature = NoteSignature.create(signed.text, self.signer, timestamp=when)
        heads[checkpoint.origin] = (checkpoint.tree_size, checkpoint.root)
        self._save(heads)
        return cosignature

    def _load(self) -> dict[str, tuple[int, bytes]]:
        if not self.state_path.exists():
            return {}
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            if state["v"] != _STATE_VERSION:
                raise ValueError(f"state version {state['v']}")
            return {
                origin: (int(head["tree_size"]), base64.b64decode(head["root"], validate=True))
                for origin, head in state["logs"].items()
            }
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise FormatError(f"{self.state_path}: unreadable witness state: {exc}") from exc

    def _save(self, heads: Mapping[str, tuple[int, bytes]]) -> None:
        state = {
            "v": _STATE_VERSION,
            "logs": {
                origin: {"tree_size": size, "root": _b64(root)}
                for origin, (size, root) in sorted(heads.items())
            },
        }
        text = json.dumps(state, sort_keys=True, indent=1)
        write_atomic(self.state_path, text.encode("utf-8"), mode=0o600)
