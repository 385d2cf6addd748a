"""Is a TCP port free to listen on, and does anything answer at an address: the checks
``coordinator start`` and ``node start`` make before they start Flower, and ``node start``
while it waits for the coordinator.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def split_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[V6]:PORT`` too) as (host, port); ValueError when it is not one."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"{address!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def can_listen(host: str, port: int) -> bool:
    """Whether a server could bind ``host:port`` now (SO_REUSEADDR, as uvicorn and gRPC set
    it: a port left in TIME_WAIT by a stopped server counts as free)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts a TCP connection at ``host:port`` within ``timeout`` s."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def running_pid(pid_path: Path) -> int | None:
    """The process id in ``pid_path`` when that process still runs; else None."""
    try:
        pid = int(pid_path.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # it runs, as another user
        return pid
    return pid


def busy_port_reason(host: str, port: int, *, what: str, pid_path: Path) -> str:
    """'' when ``what`` (a server) can listen on ``host:port``; else a one-line reason, which
    names the process of ``pid_path`` when it still runs (the same server started before)."""
    if can_listen(host, port):
        return ""
    pid = running_pid(pid_path)
    if pid is not None:
        return (
            f"port {port} on {host} is in use: {what} of this folder runs already "
            f"(pid {pid}, {pid_path}); stop it first"
        )
    return (
        f"port {port} on {host} is in use by another program: {what} cannot listen there; "
        "stop that program or choose another port"
    )
