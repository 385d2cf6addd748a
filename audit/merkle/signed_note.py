"""C2SP signed notes: text, a blank line, then one ``— name base64(keyid || sig)`` line a key.

Verification follows the spec: signatures from unknown keys (name and key ID not both
matching a trusted key) are ignored; a known key's signature that fails rejects the note;
a note with no verified signature from a trusted key is rejected.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass

from audit.merkle.errors import FormatError, SignatureError
from audit.merkle.note_keys import NoteSigner, NoteVerifier, check_key_name

__all__ = ["MAX_SIGNATURES", "NoteSignature", "SignedNote", "parse_note"]

MAX_SIGNATURES = 1000
"""Most signature lines a note may carry (the spec asks verifiers for at least 16). A run's
checkpoint carries the coordinator's signature and one cosignature a partner, so this bounds a
federation at 999 partners (`coordinator.audit_trail` refuses more before the run starts)."""
_DASH = "\u2014 "


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key's name, its key ID and the signature payload."""

    name: str
    key_id: int
    payload: bytes

    @property
    def line(self) -> str:
        """The signature line, newline included."""
        blob = base64.b64encode(self.key_id.to_bytes(4, "big") + self.payload).decode()
        return f"{_DASH}{self.name} {blob}\n"

    @classmethod
    def from_line(cls, line: str) -> NoteSignature:
        """Parse one signature line (with or without its newline)."""
        line = line.removesuffix("\n")
        if not line.startswith(_DASH):
            raise FormatError(f"signature line does not start with an em dash: {line[:40]!r}")
        name, _, blob = line[len(_DASH) :].partition(" ")
        check_key_name(name)
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error as exc:
            raise FormatError(f"signature of {name!r} is not base64") from exc
        if len(raw) < 5:
            raise FormatError(f"signature of {name!r} is too short")
        return cls(name, int.from_bytes(raw[:4], "big"), raw[4:])

    @classmethod
    def create(
        cls, text: str, signer: NoteSigner, *, timestamp: int | None = None
    ) -> NoteSignature:
        """Sign note text with ``signer`` (a cosigner key also needs ``timestamp``)."""
        payload = signer.sign(text.encode(), timestamp=timestamp)
        return cls(signer.name, signer.key_id, payload)

    def matches(self, verifier: NoteVerifier) -> bool:
        """True if this line claims to come from ``verifier`` (same name and key ID)."""
        return self.name == verifier.name and self.key_id == verifier.key_id


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise FormatError("note text must end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise FormatError("note text contains a control character")


@dataclass(frozen=True)
class SignedNote:
    """Note text (ending in a newline) and its signatures."""

    text: str
    signatures: tuple[NoteSignature, ...] = ()

    def __post_init__(self) -> None:
        _check_text(self.text)
        if len(self.signatures) > MAX_SIGNATURES:
            raise FormatError(f"note has more than {MAX_SIGNATURES} signatures")

    def format(self) -> str:
        """The note as text: body, blank line, signature lines."""
        return self.text + "\n" + "".join(signature.line for signature in self.signatures)

    def with_signature(self, signature: NoteSignature) -> SignedNote:
        """This note with one more signature (a repeat of the same line is not added twice)."""
        if signature in self.signatures:
            return self
        return SignedNote(self.text, (*self.signatures, signature))

    def verify(self, verifier: NoteVerifier) -> NoteSignature:
        """Return the signature of ``verifier`` on this note.

        Raises:
            SignatureError: no line from that key, or its line does not verify.
        """
        for signature in self.signatures:
            if signature.matches(verifier):
                if not verifier.verify(self.text.encode(), signature.payload):
                    raise SignatureError(
                        f"signature of {verifier.name!r} (key ID "
                        f"{verifier.key_id:08x}) does not verify"
                    )
                return signature
        raise SignatureError(
            f"note carries no signature of {verifier.name!r} (key ID {verifier.key_id:08x})"
        )

    def verify_known(self, verifiers: Iterable[NoteVerifier]) -> list[NoteVerifier]:
        """Verify every line from a known key and ignore the others; return the keys seen.

        Raises:
            SignatureError: a known key's signature fails.
        """
        seen: list[NoteVerifier] = []
        for verifier in verifiers:
            if any(signature.matches(verifier) for signature in self.signatures):
                self.verify(verifier)
                seen.append(verifier)
        return seen


def parse_note(note: str) -> SignedNote:
    """Parse a signed note; the text is split from the signatures at the last blank line."""
    if "\n\n" not in note or not note.endswith("\n"):
        raise FormatError("a signed note is text, a blank line and signature lines")
    at = note.rindex("\n\n")
    text, block = note[: at + 1], note[at + 2 :]
    lines = block.split("\n")[:-1]
    if not lines or "" in lines:
        raise FormatError("a signed note needs signature lines, one a line, after its text")
    if len(lines) > MAX_SIGNATURES:
        raise FormatError(f"note has more than {MAX_SIGNATURES} signatures")
    return SignedNote(text, tuple(NoteSignature.from_line(line) for line in lines))
