"""A partner's commitment to the update it sent: a salted hash, the salt kept by the partner.

A plain hash of a model update is a non-private release when the update is deterministic (no
local DP: the same data and seed give a bit-identical update). Anyone holding the hash can test
a guess of the partner's data set exactly, by training on the guess and comparing hashes. The
commitment published instead is HMAC-SHA256 keyed by a salt only the partner knows: it binds
the partner to its update (the partner can later open it to an auditor by showing the salt)
and reveals nothing testable to anyone else.

The salt of a round is derived from a secret kept in the partner's state folder
(``update_salt``), so the partner need not store one salt per round to open a commitment later.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from privacy.errors import PrivacyError

__all__ = ["SECRET_FILE", "salted_update_hash", "update_salt"]

SECRET_FILE = "update-commitment.key"
_SECRET_BYTES = 32


def salted_update_hash(update: bytes, *, salt: bytes) -> str:
    """Hex HMAC-SHA256 of ``update`` (the update's canonical bytes, e.g.
    ``federation.state_bytes``) keyed by ``salt``; requires a salt of at least 16 bytes."""
    if len(salt) < 16:
        raise PrivacyError(f"an update commitment needs a salt of >= 16 bytes, got {len(salt)}")
    return hmac.new(salt, update, hashlib.sha256).hexdigest()


def update_salt(state_dir: Path, *, run_id: str, server_round: int) -> bytes:
    """The salt of round ``server_round`` of run ``run_id``: HMAC-SHA256 of the two under the
    partner's secret ``state_dir / SECRET_FILE`` (32 random bytes, created mode 0600 on first
    use). Never sent anywhere; show it to an auditor to open a commitment.

    Raises:
        PrivacyError: the secret cannot be read or created.
    """
    path = state_dir / SECRET_FILE
    try:
        secret = _read_or_create(path)
    except OSError as exc:
        raise PrivacyError(
            f"{path}: cannot read or create the update-commitment key: {exc}"
        ) from exc
    message = f"{run_id}\0{int(server_round)}".encode()
    return hmac.new(secret, message, hashlib.sha256).digest()


def _read_or_create(path: Path) -> bytes:
    try:
        secret = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return _read_or_create(path)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(_SECRET_BYTES))
            out.flush()
            os.fsync(out.fileno())
        secret = path.read_bytes()
    if len(secret) != _SECRET_BYTES:
        raise OSError(f"expected {_SECRET_BYTES} bytes, found {len(secret)}")
    return secret
