"""A witness: a partner that cosigns the coordinator's checkpoints only along one history.

The witness remembers, per log origin, the newest tree size and root it cosigned. Shown a
new checkpoint it checks the log's signature and a consistency proof from what it
remembers; only then does it record the new head and return a C2SP tlog-cosignature
(Ed25519 cosignature/v1). Two checkpoints that no consistency proof links are a split view.

Which logs it follows is the witness's own decision, pinned in its state (``pin``: the exact
origin and the log's verifier key, when it joins a run), never taken from the request: a
checkpoint of any other origin, or signed by any other key, is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
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
from audit.merkle.note_keys import COSIGNATURE_V1, NoteSigner, NoteVerifier, parse_vkey
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
        logs: Trusted logs: origin -> the log's note verifier key, besides those pinned in
            the state file (``pin``).
    """

    def __init__(
        self,
        signer: NoteSigner,
        state_path: str | os.PathLike[str],
        logs: Mapping[str, NoteVerifier] | None = None,
    ) -> None:
        if signer.signature_type != COSIGNATURE_V1:
            raise FormatError("a witness signs with a cosigner key (signature type 0x04)")
        self.signer = signer
        self.state_path = Path(state_path)
        self.logs = dict(logs or {})

    @property
    def verifier(self) -> NoteVerifier:
        """The witness's public cosigner key (what the run-start record lists)."""
        return self.signer.verifier

    def latest(self, origin: str) -> tuple[int, bytes]:
        """Newest (tree size, root) cosigned for ``origin``; (0, empty root) if none."""
        head = self._load().get(origin)
        return (0, EMPTY_ROOT) if head is None else head

    def pins(self) -> dict[str, NoteVerifier]:
        """The logs pinned in the state file: exact origin -> the log's verifier key."""
        return {origin: parse_vkey(vkey) for origin, vkey in self._load_state()[1].items()}

    def pin(self, origin: str, log_key: NoteVerifier) -> None:
        """Follow the log ``origin`` signed by ``log_key`` from now on (idempotent).

        Raises:
            SignatureError: ``origin`` is already pinned to another key.
        """
        heads, pins = self._load_state()
        known = pins.get(origin)
        if known is not None and known != log_key.vkey:
            raise SignatureError(
                f"witness already follows log {origin!r} under another key; refusing to re-pin"
            )
        pins[origin] = log_key.vkey
        self._save(heads, pins)

    def trusted(self, origin: str) -> NoteVerifier | None:
        """The key of log ``origin`` if this witness follows it."""
        return self.logs.get(origin) or self.pins().get(origin)

    def cosign(
        self,
        note: str | SignedNote,
        consistency_proof: Sequence[bytes],
        *,
        timestamp: int | None = None,
        before_cosign: Callable[[Checkpoint], None] | None = None,
    ) -> NoteSignature:
        """Check a signed checkpoint and cosign it.

        Requires ``consistency_proof`` to lead from ``latest(origin)`` to the checkpoint; the
        checkpoint cosigned last is cosigned again whatever the proof (a lost answer, asked
        again, is no fork).
        ``before_cosign`` sees the checked checkpoint last and may refuse it by raising; then
        nothing is recorded or signed.

        Raises:
            SignatureError: unknown origin, or the log's signature does not verify.
            StaleCheckpointError: the checkpoint is smaller than the one already cosigned.
            SplitViewError: the checkpoint is not consistent with the cosigned history.
        """
        signed = parse_note(note) if isinstance(note, str) else note
        checkpoint = Checkpoint.from_text(signed.text)
        log_key = self.trusted(checkpoint.origin)
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
        same = (checkpoint.tree_size, checkpoint.root) == (old_size, old_root)
        try:
            if not same:  # the checkpoint cosigned last, asked again (its answer was lost)
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
        if before_cosign is not None:
            before_cosign(checkpoint)
        when = int(time.time()) if timestamp is None else timestamp
        cosignature = NoteSignature.create(signed.text, self.signer, timestamp=when)
        heads[checkpoint.origin] = (checkpoint.tree_size, checkpoint.root)
        self._save(heads, self._load_state()[1])
        return cosignature

    def _load(self) -> dict[str, tuple[int, bytes]]:
        return self._load_state()[0]

    def _load_state(self) -> tuple[dict[str, tuple[int, bytes]], dict[str, str]]:
        if not self.state_path.exists():
            return {}, {}
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            if state["v"] != _STATE_VERSION:
                raise ValueError(f"state version {state['v']}")
            heads = {
                origin: (int(head["tree_size"]), base64.b64decode(head["root"], validate=True))
                for origin, head in state["logs"].items()
            }
            pins = {str(origin): str(vkey) for origin, vkey in state.get("pins", {}).items()}
            return heads, pins
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise FormatError(f"{self.state_path}: unreadable witness state: {exc}") from exc

    def _save(self, heads: Mapping[str, tuple[int, bytes]], pins: Mapping[str, str]) -> None:
        state = {
            "v": _STATE_VERSION,
            "logs": {
                origin: {"tree_size": size, "root": _b64(root)}
                for origin, (size, root) in sorted(heads.items())
            },
            "pins": dict(sorted(pins.items())),
        }
        text = json.dumps(state, sort_keys=True, indent=1)
        write_atomic(self.state_path, text.encode("utf-8"), mode=0o600)
