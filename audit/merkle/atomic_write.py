"""The audit package's one atomic file write: temporary file, fsync, rename.

A reader, or the process after a crash, sees the old file or the whole new one, never a
part. Used for every file the audit package replaces: a witness's state, verifier keys,
proof bundles.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o666) -> None:
    """Replace ``path`` with ``data`` atomically (creating its folder if missing).

    The temporary file is created beside ``path`` with permission bits ``mode`` less the
    umask (as ``open`` would create ``path`` itself), written, fsynced and renamed over
    ``path``; the folder is then fsynced so that the rename survives a power loss.

    Notes:
        An existing file is replaced; callers that must never overwrite (private keys)
        check for it first or use an exclusive create instead.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
