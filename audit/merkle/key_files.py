"""Key files: private keys written 0600 (note-key text or PEM), verifier keys as text.

The note-key text of a private key reads ``PRIVATE+KEY+name+hexid+base64(type || seed)``, the
layout of Go's ``golang.org/x/mod/sumdb/note`` signer keys. A PEM file holds a PKCS#8
Ed25519 key; its name and signature type are given when loading it.

Notes:
    Private keys are never logged or printed. Files are created with ``O_EXCL`` and mode
    0600, so an existing key is never overwritten and the key is never readable by others.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.merkle.atomic_write import write_atomic
from audit.merkle.errors import FormatError
from audit.merkle.note_keys import (
    NOTE_ED25519,
    NoteSigner,
    NoteVerifier,
    key_id,
    parse_key_id,
    parse_vkey,
)

__all__ = [
    "parse_signer",
    "read_signer",
    "read_vkey",
    "signer_text",
    "write_private",
    "write_signer",
    "write_vkey",
]

_PREFIX = "PRIVATE+KEY+"


def signer_text(signer: NoteSigner) -> str:
    """The note-key text of a private key."""
    seed = signer.private_key.private_bytes_raw()
    material = base64.b64encode(bytes([signer.signature_type]) + seed).decode()
    return f"{_PREFIX}{signer.name}+{signer.key_id:08x}+{material}"


def parse_signer(text: str) -> NoteSigner:
    """Parse note-key text; the key ID must match the key."""
    text = text.strip()
    parts = text[len(_PREFIX) :].split("+", 2) if text.startswith(_PREFIX) else []
    if len(parts) != 3:
        raise FormatError("a private note key reads PRIVATE+KEY+name+keyid+base64key")
    name, hex_id, material = parts
    claimed = parse_key_id(hex_id, f"private key {name!r}")
    try:
        raw = base64.b64decode(material, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FormatError(f"private key {name!r}: the key is not base64") from exc
    if len(raw) != 33:
        raise FormatError(f"private key {name!r}: expected a type byte and a 32-byte seed")
    signer = NoteSigner(name, Ed25519PrivateKey.from_private_bytes(raw[1:]), raw[0])
    if key_id(name, raw[0], signer.verifier.public_key) != claimed:
        raise FormatError(f"private key {name!r}: key ID {hex_id} does not match its key")
    return signer


def write_private(path: Path, content: bytes) -> None:
    """Write a secret once: mode 0600 (folder 0700 if made), refusing to overwrite, fsynced."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_signer(path: str | os.PathLike[str], signer: NoteSigner, *, pem: bool = False) -> None:
    """Write a private key, mode 0600; refuses to overwrite an existing file."""
    if pem:
        content = signer.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    else:
        content = (signer_text(signer) + "\n").encode()
    write_private(Path(path), content)


def read_signer(
    path: str | os.PathLike[str], *, name: str | None = None, signature_type: int = NOTE_ED25519
) -> NoteSigner:
    """Load a private key from note-key text, or from PEM (then ``name`` is required)."""
    path = Path(path)
    content = _read_key_file(path)
    if content.lstrip().startswith(b"-----BEGIN"):
        if name is None:
            raise FormatError(f"{path}: a PEM key needs a key name")
        try:
            key = serialization.load_pem_private_key(content, password=None)
        except ValueError as exc:
            raise FormatError(f"{path}: not a readable PEM private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise FormatError(f"{path}: the PEM key is not Ed25519")
        return NoteSigner(name, key, signature_type)
    try:
        signer = parse_signer(content.decode("ascii"))
    except (UnicodeDecodeError, FormatError) as exc:
        raise FormatError(f"{path}: {exc}") from None
    if name is not None and signer.name != name:
        raise FormatError(f"{path}: key is named {signer.name!r}, not {name!r}")
    return signer


_MAX_KEY_FILE = 64 * 1024
"""Largest key file read (a note key is under 200 bytes, a PEM key under 200 more)."""


def _read_key_file(path: Path) -> bytes:
    """A key file's bytes; never more than ``_MAX_KEY_FILE`` are read (a device, a pipe)."""
    with path.open("rb") as stream:
        content = stream.read(_MAX_KEY_FILE + 1)
    if len(content) > _MAX_KEY_FILE:
        raise FormatError(f"{path}: larger than {_MAX_KEY_FILE} bytes, not a key file")
    return content


def write_vkey(path: str | os.PathLike[str], verifier: NoteVerifier) -> None:
    """Write a verifier key as one line of text (atomically; replaces an existing file)."""
    write_atomic(path, (verifier.vkey + "\n").encode("ascii"))


def read_vkey(path: str | os.PathLike[str]) -> NoteVerifier:
    """Read a verifier key written by `write_vkey`."""
    path = Path(path)
    content = _read_key_file(path)
    try:
        return parse_vkey(content.decode("ascii"))
    except (UnicodeDecodeError, FormatError) as exc:
        raise FormatError(f"{path}: {exc}") from None
