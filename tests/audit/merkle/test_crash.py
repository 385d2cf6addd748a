"""A writer killed with SIGKILL mid-append leaves a log that opens at a committed size."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from audit import MerkleLog, recompute_store

HERE = Path(__file__).parent
ROOT = HERE.parents[2]


@pytest.mark.slow
def test_kill_9_during_bulk_append_leaves_last_committed_size(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen(
        [sys.executable, str(HERE / "crash_writer.py"), str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert writer.stdout is not None
        committed = [int(writer.stdout.readline()) for _ in range(5)]
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(timeout=30)

    log = MerkleLog(path)
    rebuilt = recompute_store(log.store)  # type: ignore[arg-type]

    assert log.size >= committed[-1]
    assert log.size % 2000 == 0
    assert (rebuilt.tree_size, rebuilt.root) == (log.size, log.root())
    expected = MerkleLog()
    expected.extend(b"leaf %d" % i for i in range(log.size))
    assert log.root() == expected.root()
