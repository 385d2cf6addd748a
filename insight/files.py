"""Replacing a file whole: write a temporary file beside it, then rename it into place."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["replace_atomically"]

_ATTEMPTS = 100


@contextlib.contextmanager
def replace_atomically(
    path: Path, *, mode: int = 0o600, fsync: bool = True, suffix: str = ".tmp"
) -> Iterator[BinaryIO]:
    """Open a new temporary file beside `path` for binary writing; on success, rename it
    over `path` (``os.replace``).

    Readers see the old file or the whole new one, never a part; two writers never share a
    temporary file (its name is random, created with ``O_EXCL``); when the block raises, the
    temporary file is removed and `path` is untouched. Requires that `path`'s folder exists.

    Args:
        path: the file to create or replace.
        mode: permission bits of the new file, before the umask: ``0o600`` (the default) for
            files only their owner may read, ``0o666`` for what ``open()`` would give.
        fsync: flush the data to disk before the rename, so that a crash right after it
            cannot leave an empty or partial file under the final name.
        suffix: ends the temporary file's name (``.<name>.<random><suffix>``).
    """
    fd, temporary = _create(path, mode=mode, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _create(path: Path, *, mode: int, suffix: str) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_ATTEMPTS):
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}{suffix}")
        try:
            return os.open(temporary, flags, mode), temporary
        except FileExistsError:
            continue
    raise FileExistsError(f"{path}: no free temporary name beside it")
