"""The launcher of Flower's processes: the app's folder, Flower's commands, and their lifetimes.

The deployment commands (``fedinsight coordinator start|run``, ``node start``) and the
researcher's simulations start Flower's own processes through this module. For a simulation,
``flwr run`` (the current, non-deprecated path; ``flwr.simulation.run_simulation`` is deprecated
in flwr 1.42) submits the app to a SuperLink: ``local_superlink`` starts a private one in
simulation mode on a free loopback port with its own ``FLWR_HOME`` (the user's ``~/.flwr`` is
left alone), ``flwr_run`` submits the run and waits for it, and every process started is always
stopped. Failures are ``LaunchError``s naming the log to read.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

from federation.app_bundle import app_bundle_dir
from federation.errors import LaunchError

logger = logging.getLogger(__name__)

_STARTUP_TIMEOUT = 60.0


def find_app_dir() -> Path:
    """The Flower app's directory: the project root holding pyproject.toml.

    ``FEDINSIGHT_APP_DIR`` first, then the folder this package is installed in, then the
    working directory.

    Raises:
        LaunchError: none of them holds a pyproject.toml with a ``tool.flwr.app`` table.
    """
    env = os.environ.get("FEDINSIGHT_APP_DIR")
    candidates = [Path(env)] if env else []
    candidates += [Path(__file__).resolve().parents[1], Path.cwd()]
    for c in candidates:
        if (c / "pyproject.toml").exists() and "tool.flwr.app" in (
            c / "pyproject.toml"
        ).read_text():
            return c
    raise LaunchError("cannot find the fedinsight Flower app (pyproject.toml)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def flower_bin(name: str) -> str:
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else name


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LaunchError(
                f"flower-superlink exited with code {proc.returncode}; see {log_path}"
            )
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise LaunchError(f"flower-superlink did not start within {_STARTUP_TIMEOUT:.0f}s")


def stop_process_group(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after ``timeout``."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


def kill_tree(pid: int, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Signal a process and all its descendants; SIGKILL whatever is left after ``timeout``."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.send_signal(sig)
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(alive, timeout=5)


@dataclass(frozen=True)
class LocalSuperLink:
    control_address: str
    flwr_home: Path
    connection: str = "fedinsight-sim"


@contextlib.contextmanager
def local_superlink(work_dir: Path, *, ray_address: str = "") -> Iterator[LocalSuperLink]:
    """A SuperLink in simulation mode for the duration of the ``with`` block.

    Its simulation runs on a Ray instance of its own, or on the running Ray cluster at
    ``ray_address`` (``host:port`` of a ``ray start --head``).
    """
    flwr_home = work_dir / "flwr-home"
    flwr_home.mkdir(parents=True, exist_ok=True)
    port = free_port()  # flwr 1.42 serves the Control, Runtime and Fleet APIs on one port
    log_path = work_dir / "superlink.log"
    env = flower_env(flwr_home)
    # Flower's Ray backend calls ray.init() without an address, and Ray then reads
    # RAY_ADDRESS, else attaches to whatever cluster `ray start` last left on this machine.
    # "local" always starts a private instance, so a simulation never lands on a stray
    # cluster; an address attaches to the cluster the researcher chose.
    env["RAY_ADDRESS"] = ray_address or "local"
    cmd = [
        flower_bin("flower-superlink"),
        "--insecure",
        "--simulation",
        "--isolation",
        "subprocess",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--database",
        str(work_dir / "superlink.db"),
    ]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        wait_for_port(port, proc, log_path)
        link = LocalSuperLink(control_address=f"127.0.0.1:{port}", flwr_home=flwr_home)
        (flwr_home / "config.toml").write_text(
            "[superlink]\n"
            f'default = "{link.connection}"\n\n'
            f"[superlink.{link.connection}]\n"
            f'address = "{link.control_address}"\n'
            "insecure = true\n"
        )
        yield link
    finally:
        stop_process_group(proc)
        logger.debug("SuperLink (pid %d) stopped", proc.pid)


def flower_env(flwr_home: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The SuperLink starts flower-superexec / flwr-simulation by name: our venv's bin first.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["FLWR_HOME"] = str(flwr_home)
    env["FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION"] = "1"
    env["FLWR_DISABLE_UPDATE_CHECK"] = "1"
    env.setdefault("RAY_DEDUP_LOGS", "0")
    env["PYTHONUNBUFFERED"] = "1"
    # Flower's SuperExec (beside the SuperLink and each SuperNode) looks for a new ServerApp or
    # ClientApp to start once a second by default, and every phase of a deployed run waits for
    # it. Every 0.5 s: each look costs CPU (measured in docs/deployment-speed.md).
    env.setdefault("FLWR_SUPEREXEC_TASK_POLL_INTERVAL", "0.5")
    return env


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def flwr_run(
    app_dir: Path,
    link: LocalSuperLink,
    *,
    run_config: Mapping[str, object],
    num_supernodes: int,
    num_cpus_per_client: float,
    log_path: Path,
    poll: Callable[[], None] | None = None,
    timeout: float = 3600.0,
    on_cluster: bool = False,
    ray_cpus: int = 0,
) -> None:
    """Submit the app, stream its logs to ``log_path`` and wait for the run to finish.

    ``on_cluster``: the SuperLink's simulation attaches to an existing Ray cluster, whose own
    nodes declare their CPUs (Ray refuses ``num_cpus`` when attaching); otherwise the private
    Ray instance gets ``ray_cpus`` CPUs, by default (0) this machine's, so Ray starts no more
    actors than cores.
    """
    if on_cluster and ray_cpus:
        raise LaunchError("a Ray cluster's nodes declare their CPUs: ray_cpus is for a private Ray")
    overrides = " ".join(f"{k}={toml_value(v)}" for k, v in run_config.items())
    federation = f"num-supernodes={num_supernodes} client-resources-num-cpus={num_cpus_per_client}"
    if not on_cluster:
        federation += f" init-args-num-cpus={ray_cpus or max(1, os.cpu_count() or 1)}"
    with app_bundle_dir(app_dir) as bundle:
        cmd = [flower_bin("flwr"), "run", str(bundle), link.connection, "--stream"]
        cmd += ["--run-config", overrides, "--federation-config", federation]
        _run_flwr(
            cmd,
            app_dir,
            link,
            log_path=log_path,
            poll=poll,
            timeout=timeout,
        )


def _run_flwr(
    cmd: list[str],
    app_dir: Path,
    link: LocalSuperLink,
    *,
    log_path: Path,
    poll: Callable[[], None] | None,
    timeout: float,
) -> None:
    """Run ``cmd`` (a ``flwr run``) to its end, calling ``poll`` twice a second; the process
    group is stopped on the way out."""
    deadline = time.monotonic() + timeout
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=flower_env(link.flwr_home),
            cwd=app_dir,
            start_new_session=True,
        )
        try:
            while proc.poll() is None:
                if poll:
                    poll()
                if time.monotonic() > deadline:
                    raise LaunchError(f"the Flower run took longer than {timeout:.0f}s")
                time.sleep(0.5)
        finally:
            stop_process_group(proc)
    if poll:
        poll()
    if proc.returncode != 0:
        raise LaunchError(f"flwr run exited with code {proc.returncode}; see {log_path}")
