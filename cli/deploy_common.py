"""What the coordinator's and the node's deployment commands share: the consoles, the one-line
error exit, the busy-port check, a Flower process run in the foreground (its log read as it
grows), and the run manifest's tables.
For ``cli.coordinator_cmd`` and ``cli.node_cmd`` only.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


def refuse_busy_port(host: str, port: int, *, what: str, pid_path: Path) -> None:
    """Exit 1 with a one-line reason when ``what`` cannot listen on ``host:port``: checked
    before Flower starts, which would otherwise fail later, with a traceback in its log."""
    from cli.ports import busy_port_reason

    reason = busy_port_reason(host, port, what=what, pid_path=pid_path)
    if reason:
        raise fail(reason)


def run_foreground(
    cmd: list[str],
    *,
    env: dict[str, str],
    log_path: Path,
    pid_path: Path,
    ready: Callable[[subprocess.Popen[bytes]], None] | None = None,
    on_line: Callable[[str], None] | None = None,
    on_stop: Callable[[], None] | None = None,
) -> int:
    """Start ``cmd`` in its own session, its output appended to ``log_path``; call
    ``ready(proc)`` once it runs and ``on_line`` with each line it writes to the log, as it
    comes; wait. On SIGINT or SIGTERM call ``on_stop`` and stop it with every process it
    started. Returns 0 when stopped so, else the child's exit code (128 + N when signal N
    killed it, as a shell reports it)."""
    from federation import kill_tree

    log_path.parent.mkdir(parents=True, exist_ok=True)
    stopping: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    with log_path.open("ab") as log:
        offset = log.tell()
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    pid_path.write_text(f"{proc.pid}\n")
    lines = _LogLines(log_path, offset, on_line)
    try:
        if ready is not None:
            ready(proc)
        while proc.poll() is None and not stopping:
            lines.read()
            time.sleep(0.3)
        if stopping and on_stop is not None:
            on_stop()
    finally:
        kill_tree(proc.pid, signal.SIGTERM, timeout=15.0)
        proc.wait(timeout=5)
        lines.read(final=True)
        with contextlib.suppress(FileNotFoundError):
            pid_path.unlink()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stopping:
        return 0
    code = int(proc.returncode or 0)
    return code if code >= 0 else 128 - code


class _LogLines:
    """The lines appended to a log file from ``offset`` on, each handed to ``on_line`` once."""

    def __init__(self, path: Path, offset: int, on_line: Callable[[str], None] | None) -> None:
        self.path, self.offset, self.on_line = path, offset, on_line
        self.partial = b""

    def read(self, *, final: bool = False) -> None:
        if self.on_line is None:
            return
        try:
            with self.path.open("rb") as log:
                log.seek(self.offset)
                chunk = log.read()
        except OSError:
            return
        self.offset += len(chunk)
        *complete, self.partial = (self.partial + chunk).split(b"\n")
        if final and self.partial:
            complete.append(self.partial)
            self.partial = b""
        for line in complete:
            self.on_line(line.decode("utf-8", errors="replace"))


DP_OFF_WARNING = (
    "[bold red]WARNING: differential privacy is OFF (dp = false):[/bold red] partners train "
    "on their customers without DP-SGD noise; no ε bounds what the model reveals about a customer"
)


def print_manifest(manifest: dict[str, Any], *, own_sigma: str = "") -> None:
    """The manifest's privacy terms first (DP, then central DP, with a warning when DP is off
    and ``own_sigma``, this partner's resolved noise multiplier, when given), then the rest."""
    from federation import MANIFEST_SECTIONS

    digest = manifest["manifest_sha256"][:16]
    dp, central = manifest["dp"], manifest["central_dp"]
    privacy = Table(title=f"run manifest {digest}…: privacy terms")
    privacy.add_column("term")
    privacy.add_column("value")
    for key in MANIFEST_SECTIONS["dp"]:
        value = dp[key]
        if key == "noise-multiplier" and value is None:
            value = "calibrated at each partner (noise-calibration)"
        privacy.add_row(f"dp.{key}", str(value))
        if key == "noise-calibration" and own_sigma:
            privacy.add_row("noise multiplier at this partner", own_sigma)
    for key in MANIFEST_SECTIONS["central_dp"]:
        privacy.add_row(f"central_dp.{key}", str(central[key]))
    if not dp["dp"]:
        console.print(DP_OFF_WARNING)
    console.print(privacy)
    rest = Table(title=f"run manifest {digest}…: code and run terms")
    rest.add_column("term")
    rest.add_column("value")
    rest.add_row("code sha256", manifest["code_sha256"])
    rest.add_row("architecture sha256", manifest["architecture_sha256"])
    for section in ("training", "federation"):
        for key in MANIFEST_SECTIONS[section]:
            rest.add_row(f"{section}.{key}", str(manifest[section][key]))
    console.print(rest)


def wait_for_serverapp(run_dir: Path, *, deadline: float) -> None:
    """After its end event the ServerApp still sends the final model home to the partners and
    writes the run's summary: wait until it lets go of the run directory's lock, so that the
    command returns when the run is over (a submission right after it is "already finished",
    not "in progress")."""
    from coordinator.errors import RunLockedError
    from coordinator.run_guard import RunLock
    from federation import RunDir

    lock = RunLock(RunDir(run_dir).lock, what=f"run {run_dir.name}")
    with console.status("sending the final model home to the partners"):
        while time.monotonic() < deadline:
            try:
                lock.acquire()
            except RunLockedError:
                time.sleep(0.5)
                continue
            lock.release()
            return
