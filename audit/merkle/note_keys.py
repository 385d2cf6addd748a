"""Ed25519 note keys (C2SP signed-note) and witness cosigner keys (C2SP tlog-cosignature).

Two signature types share the Ed25519 algorithm and differ in what they sign and in the
type byte that enters the key ID and the verifier-key string:

* ``0x01`` (`NOTE_ED25519`): the log's key; signs the note text itself.
* ``0x04`` (`COSIGNATURE_V1`): a witness's key; signs ``"cosignature/v1\\ntime <t>\\n"``
  followed by the checkpoint text, and its signature carries the 8-byte big-endian ``t``
  before the 64-byte Ed25519 signature.

The key ID is ``SHA-256(name || 0x0A || type || public key)[:4]``; a verifier key is written
``name+<key ID, 8 hex digits>+base64(type || public key)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.merkle.errors import FormatError

__all__ = [
    "COSIGNATURE_V1",
    "NOTE_ED25519",
    "NoteSigner",
    "NoteVerifier",
    "check_key_name",
    "cosigned_message",
    "key_id",
    "key_name_from",
    "parse_key_id",
    "parse_vkey",
]

NOTE_ED25519 = 0x01
COSIGNATURE_V1 = 0x04
_TYPES = {NOTE_ED25519: "Ed25519 note key", COSIGNATURE_V1: "Ed25519 cosigner key"}
_MAX_TIMESTAMP = 2**63 - 1
_KEY_ID = re.compile(r"[0-9a-f]{8}")


def check_key_name(name: str) -> str:
    """Return ``name`` if it is a valid key name: non-empty, no spaces, no '+', printable."""
    if (
        not name
        or "+" in name
        or any(c.isspace() for c in name)
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name)
    ):
        raise FormatError(
            f"key name {name!r} must be non-empty, without spaces, '+' or control characters"
        )
    return name


def key_name_from(text: str, fallback: str) -> str:
    """A valid key name made from ``text`` (a folder's or a run's name): every run of characters
    other than ASCII letters, digits, '.', '_' and '-' becomes '-'; ``fallback`` if none is left."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or fallback


def key_id(name: str, signature_type: int, public_key: bytes) -> int:
    """C2SP key ID: the first 4 bytes, big-endian, of SHA-256(name || 0x0A || type || key)."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([signature_type]) + public_key)
    return int.from_bytes(digest.digest()[:4], "big")


def cosigned_message(text: bytes, timestamp: int) -> bytes:
    """What an Ed25519 cosignature/v1 signs for note text ``text`` at POSIX time ``timestamp``."""
    return b"cosignature/v1\ntime %d\n" % timestamp + text


def _public_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes_raw()


@dataclass(frozen=True)
class NoteVerifier:
    """A public key that checks note signatures of one signature type."""

    name: str
    signature_type: int
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if self.signature_type not in _TYPES:
            raise FormatError(f"unsupported signature type 0x{self.signature_type:02x}")
        if len(self.public_key) != 32:
            raise FormatError("an Ed25519 public key has 32 bytes")

    @property
    def key_id(self) -> int:
        """The C2SP key ID of this key."""
        return key_id(self.name, self.signature_type, self.public_key)

    @property
    def vkey(self) -> str:
        """The verifier-key string ``name+hexid+base64(type || public key)``."""
        material = base64.b64encode(bytes([self.signature_type]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{material}"

    def verify_plain(self, message: bytes, signature: bytes) -> bool:
        """Check a bare Ed25519 signature over ``message`` (for signed statements, whose
        messages carry their own context line, never a note or a cosignature's)."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def verify(self, text: bytes, payload: bytes) -> bool:
        """Check a signature payload (the note signature without its key ID) over ``text``."""
        if self.signature_type == COSIGNATURE_V1:
            if len(payload) != 8 + 64:
                return False
            timestamp = int.from_bytes(payload[:8], "big")
            if timestamp > _MAX_TIMESTAMP:
                return False
            message, signature = cosigned_message(text, timestamp), payload[8:]
        else:
            if len(payload) != 64:
                return False
            message, signature = text, payload
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class NoteSigner:
    """A private key that signs notes (type 0x01) or cosigns checkpoints (type 0x04).

    Notes:
        ``repr`` shows the name and key ID only; the private key is never printed.
    """

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)
    signature_type: int = NOTE_ED25519

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if self.signature_type not in _TYPES:
            raise FormatError(f"unsupported signature type 0x{self.signature_type:02x}")

    @classmethod
    def generate(cls, name: str, signature_type: int = NOTE_ED25519) -> NoteSigner:
        """A fresh random key."""
        return cls(check_key_name(name), Ed25519PrivateKey.generate(), signature_type)

    @property
    def verifier(self) -> NoteVerifier:
        """The matching public key."""
        return NoteVerifier(
            self.name, self.signature_type, _public_bytes(self.private_key.public_key())
        )

    @property
    def key_id(self) -> int:
        """The C2SP key ID of this key."""
        return self.verifier.key_id

    def sign(self, text: bytes, *, timestamp: int | None = None) -> bytes:
        """Signature payload over ``text`` (cosigner keys require ``timestamp``)."""
        if self.signature_type == COSIGNATURE_V1:
            if timestamp is None or not 0 <= timestamp <= _MAX_TIMESTAMP:
                raise ValueError("a cosignature needs a timestamp in 0..2**63-1")
            signature = self.private_key.sign(cosigned_message(text, timestamp))
            return timestamp.to_bytes(8, "big") + signature
        return self.private_key.sign(text)


def parse_key_id(text: str, where: str) -> int:
    """A key ID written as exactly 8 lowercase hex digits (``[0-9a-f]{8}``), as C2SP keys write
    it; refuses signs, ``0x``, underscores, spaces and upper case, which ``int(text, 16)``
    would accept."""
    if not _KEY_ID.fullmatch(text):
        raise FormatError(f"{where}: the key ID is 8 lowercase hex digits, not {text[:20]!r}")
    return int(text, 16)


def parse_vkey(vkey: str) -> NoteVerifier:
    """Parse ``name+hexid+base64(type || public key)``; the key ID (``[0-9a-f]{8}``) must match
    the key."""
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3:
        raise FormatError("a verifier key reads name+keyid+base64key")
    name, hex_id, material = parts
    claimed = parse_key_id(hex_id, f"verifier key {name[:64]!r}")
    try:
        raw = base64.b64decode(material, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FormatError(f"verifier key {name[:64]!r}: the key is not base64") from exc
    if not raw:
        raise FormatError(f"verifier key {name[:64]!r}: the key is empty")
    verifier = NoteVerifier(name, raw[0], raw[1:])
    if verifier.key_id != claimed:
        raise FormatError(f"verifier key {name[:64]!r}: key ID {hex_id} does not match its key")
    return verifier
