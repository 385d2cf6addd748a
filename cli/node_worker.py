"""The partner-side worker that ``node start`` runs beside the SuperNode (``client_node.worker``):
started before the SuperNode, stopped after it, its log lines in the SuperNode's log."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def node_worker(
    node_dir: Path, *, env: dict[str, str], log_path: Path, enabled: bool = True
) -> Iterator[subprocess.Popen[bytes] | None]:
    """Run the node's worker while the block runs (nothing when not ``enabled``). It ends on
    its own if this process dies without stopping it (``--parent``)."""
    if not enabled:
        yield None
        return
    from federation import kill_tree

    cmd = [sys.executable, "-m", "client_node.worker", str(node_dir), "--parent", str(os.getpid())]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        yield proc
    finally:
        kill_tree(proc.pid, signal.SIGTERM, timeout=10.0)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
