from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from insight.files import replace_atomically


def test_the_new_content_appears_whole_and_alone(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"old")

    with replace_atomically(path) as handle:
        handle.write(b"new ")
        handle.write(b"content")

    assert path.read_bytes() == b"new content"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_the_old_file_survives_a_write_that_fails_midway(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"old")

    with pytest.raises(OSError, match="disk full"), replace_atomically(path) as handle:
        handle.write(b"half of the new")
        raise OSError("disk full")

    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_new_file_is_private_by_default(tmp_path: Path) -> None:
    path = tmp_path / "key"

    with replace_atomically(path) as handle:
        handle.write(b"secret")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_mode_0o666_gives_what_open_would(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        with replace_atomically(tmp_path / "list.txt", mode=0o666, fsync=False) as handle:
            handle.write(b"a\n")
        (tmp_path / "plain.txt").write_bytes(b"a\n")
    finally:
        os.umask(umask)

    modes = {stat.S_IMODE((tmp_path / n).stat().st_mode) for n in ("list.txt", "plain.txt")}
    assert modes == {0o644}
