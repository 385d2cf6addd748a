"""The one atomic write of the audit package: whole new file or the old one, never a part."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from audit.merkle import write_atomic


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_write_creates_the_folder_and_the_exact_bytes(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "state.json"

    write_atomic(target, b'{"v":1}\n')

    assert target.read_bytes() == b'{"v":1}\n'
    assert _leftovers(target.parent) == []


def test_write_replaces_an_existing_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_bytes(b"old and longer")

    write_atomic(target, b"new")

    assert target.read_bytes() == b"new"
    assert _leftovers(tmp_path) == []


def test_mode_sets_the_permission_bits(tmp_path: Path) -> None:
    write_atomic(tmp_path / "secret", b"x", mode=0o600)

    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "state.json"
    target.write_bytes(b"old")

    def failing_fsync(fd: int) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk gone"):
        write_atomic(target, b"new")

    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []
