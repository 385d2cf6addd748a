"""Per-partner pseudonymization keys.

A key file holds 32 random bytes written as 64 hexadecimal characters and a newline. It is
created with mode 0600 and never overwritten by accident.

Notes:
    The key is the only secret that separates a pseudonym from the identifier behind it: anyone
    who holds it can test guesses of customer ids, names or emails. Keep it outside the data
    directory, never commit it, and never log it. Rotating it changes every pseudonym (see
    docs/anonymization.md for what a partner must then do).
"""

from __future__ import annotations

import binascii
import logging
import os
import secrets
import stat
from pathlib import Path

from anonymization.errors import KeyFileError

logger = logging.getLogger(__name__)

KEY_BYTES = 32


def generate_key_file(path: str | os.PathLike[str], *, overwrite: bool = False) -> bytes:
    """Create a new random key at `path` with mode 0600 and return it.

    Requires that `path` does not exist unless `overwrite` is true; the parent folder must exist.
    Overwriting a key rotates it: every pseudonym derived from the old key changes.
    """
    target = Path(path)
    key = secrets.token_bytes(KEY_BYTES)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    if not overwrite:
        flags |= os.O_EXCL
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError as err:
        raise KeyFileError(f"{target}: a key file already exists; refusing to overwrite") from err
    except OSError as err:
        raise KeyFileError(f"{target}: cannot create key file ({err.strerror})") from err
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, key.hex().encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    logger.info("created a new pseudonymization key file at %s", target)
    return key


def load_key(path: str | os.PathLike[str]) -> bytes:
    """Read the key at `path`.

    Raises KeyFileError when the file is missing or unreadable, is not hexadecimal, or holds
    fewer or more than 32 bytes.
    """
    source = Path(path)
    try:
        raw = source.read_bytes()
    except FileNotFoundError as err:
        raise KeyFileError(
            f"{source}: key file not found; create one with generate_key_file() "
            "or the keygen command"
        ) from err
    except OSError as err:
        raise KeyFileError(f"{source}: cannot read key file ({err.strerror})") from err
    text = raw.strip()
    try:
        key = binascii.unhexlify(text)
    except (binascii.Error, ValueError) as err:
        raise KeyFileError(
            f"{source}: a key file must hold {2 * KEY_BYTES} hexadecimal characters"
        ) from err
    if len(key) != KEY_BYTES:
        raise KeyFileError(
            f"{source}: the key is {len(key)} bytes long; a key must be exactly {KEY_BYTES} bytes"
        )
    mode = source.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("key file %s is readable by other users; chmod 600 it", source)
    return key
