"""A whole federation on one machine with the deployment engine, through fedinsight's own
commands: ``coordinator init|allow|start|run`` and ``node init|start|approve``.

Used by the end-to-end tests and by ``fedinsight bench deployment``. Every process it starts
(the command wrappers, Flower's SuperLink, SuperNodes and the processes they spawn) is
tracked by PID and stopped, with its whole process tree, when the ``with`` block ends. A
command that fails or a process that does not come up is a ``federation.LaunchError``.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from federation import (
    LaunchError,
    Progress,
    RunDir,
    flower_bin,
    flower_env,
    free_port,
    kill_tree,
)


class LocalFederation:
    """A coordinator folder and node folders under ``root``, on a free loopback port."""

    def __init__(
        self, root: Path, *, workers: bool = True, heartbeat_s: float | None = None
    ) -> None:
        """``workers``: whether ``node start`` runs each node's partner-side worker;
        ``heartbeat_s``: its ``--heartbeat`` (None: Flower's 30 s), how soon a killed node is
        counted gone (after two missed)."""
        self.workers = workers
        self.heartbeat_s = heartbeat_s
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.coordinator = self.root / "coordinator"
        self.nodes: dict[str, Path] = {}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.fedinsight = flower_bin("fedinsight")

    # -- set-up ------------------------------------------------------------------------

    def cli(self, *args: str, check: bool = True, timeout: float = 600) -> str:
        out = subprocess.run(
            [self.fedinsight, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**flower_env(self.coordinator / "flwr-home"), "COLUMNS": "200"},
        )
        text = out.stdout + out.stderr
        if check and out.returncode != 0:
            raise LaunchError(f"fedinsight {' '.join(args)} failed: {text[-2000:]}")
        return text

    def init(self) -> None:
        self.cli("coordinator", "init", str(self.coordinator), "--address", self.address)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def add_node(
        self,
        name: str,
        data: Path,
        *,
        allow: bool = True,
        epsilon_budget: float = 10.0,
        check: bool = True,
    ) -> Path:
        """``node init`` (with ``--no-check`` unless `check`), then ``coordinator allow``."""
        folder = self.root / "nodes" / name
        self.cli(
            "node", "init", str(folder), "--name", name, "--data", str(data),
            "--superlink", self.address, "--root-cert", str(self.coordinator / "tls" / "ca.pem"),
            "--epsilon-budget", str(epsilon_budget), "--runtime-port", str(free_port()),
            "--pseudonym-key", str(self.root / "partner-keys" / name / "pseudonym.key"),
            *(() if check else ("--no-check",)),
        )  # fmt: skip
        if allow:
            self.cli(
                "coordinator", "allow", str(self.coordinator),
                str(folder / "auth" / "node.pub"), "--name", name,
            )  # fmt: skip
        self.nodes[name] = folder
        return folder

    def manifest(self, run_config: str, name: str = "manifest") -> Path:
        """``coordinator manifest`` of ``run_config``, written to ``<root>/<name>.json``."""
        path = self.root / f"{name}.json"
        self.cli("coordinator", "manifest", "--out", str(path), "--run-config", run_config)
        return path

    def approve(self, name: str, *manifests: Path) -> None:
        """``node approve --yes`` of every manifest, in one command (one process's imports)."""
        self.cli("node", "approve", str(self.nodes[name]), *map(str, manifests), "--yes")

    # -- processes ---------------------------------------------------------------------

    def _spawn(self, key: str, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as fh:
            proc = subprocess.Popen(
                [self.fedinsight, *args],
                stdout=fh,
                stderr=subprocess.STDOUT,
                env={**flower_env(self.coordinator / "flwr-home"), "COLUMNS": "200"},
                start_new_session=True,
            )
        self.procs[key] = proc
        return proc

    def start_coordinator(self, timeout: float = 90.0) -> float:
        """Start the SuperLink; return the seconds until it was ready (nodes registered)."""
        log = self.root / "logs" / "coordinator.out"
        offset = log.stat().st_size if log.exists() else 0
        t0 = time.monotonic()
        proc = self._spawn("coordinator", ["coordinator", "start", str(self.coordinator)], log)
        while time.monotonic() - t0 < timeout:
            if proc.poll() is not None:
                raise LaunchError(f"coordinator start exited ({proc.returncode}); see {log}")
            if "SuperLink ready" in log.read_bytes()[offset:].decode(errors="replace"):
                return time.monotonic() - t0
            time.sleep(0.3)
        raise LaunchError(f"the SuperLink was not ready within {timeout:.0f}s; see {log}")

    def start_node(
        self, name: str, node_config: str = "", *, check: bool = True
    ) -> subprocess.Popen[bytes]:
        """``node start`` in the background (with ``--no-check`` unless `check`)."""
        args = ["node", "start", str(self.nodes[name])]
        if node_config:
            args += ["--node-config", node_config]
        if not check:
            args.append("--no-check")
        if not self.workers:
            args.append("--no-worker")
        if self.heartbeat_s is not None:
            args += ["--heartbeat", f"{self.heartbeat_s:g}"]
        return self._spawn(name, args, self.root / "logs" / f"{name}.out")

    def online_nodes(self) -> int:
        out = subprocess.run(
            [flower_bin("flwr"), "supernode", "list", "fedinsight", "--format", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            env=flower_env(self.coordinator / "flwr-home"),
        )
        try:
            nodes = json.loads(out.stdout).get("nodes", [])
        except json.JSONDecodeError:
            return 0
        return sum(1 for n in nodes if n.get("status") == "online")

    def wait_online(self, count: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while self.online_nodes() < count:
            if time.monotonic() > deadline:
                raise LaunchError(f"fewer than {count} SuperNodes online after {timeout:.0f}s")
            time.sleep(1.0)

    def submit(self, name: str, run_config: str) -> subprocess.Popen[bytes]:
        """``fedinsight coordinator run`` in the background (its output in logs/run-NAME.out)."""
        args = ["coordinator", "run", str(self.coordinator), "--name", name]
        args += ["--run-config", run_config]
        return self._spawn(f"run-{name}", args, self.root / "logs" / f"run-{name}.out")

    def run_dir(self, name: str) -> Path:
        return self.coordinator / "runs" / name

    def progress(self, name: str) -> list[dict[str, Any]]:
        from coordinator.progress import read_progress

        return read_progress(RunDir(self.run_dir(name)).progress)

    def wait_for(self, name: str, event: str, count: int = 1, timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        proc = self.procs.get(f"run-{name}")
        while sum(1 for e in self.progress(name) if e.get(Progress.EVENT) == event) < count:
            if time.monotonic() > deadline:
                raise LaunchError(f"run {name}: no {count}x '{event}' in {timeout:.0f}s")
            if proc is not None and proc.poll() is not None:
                if sum(1 for e in self.progress(name) if e.get(Progress.EVENT) == event) >= count:
                    return
                log = self.root / "logs" / f"run-{name}.out"
                raise LaunchError(f"run {name} ended before '{event}'; see {log}")
            time.sleep(0.5)

    def verify(self, run_dir: Path, quorum: int) -> str:
        """The officer's ``audit verify`` of a run: the coordinator's key as its own folder
        holds it (not the copy inside the run folder being verified), every node folder's
        ``witness.vkey``, and ``quorum`` partners that must have cosigned every checkpoint (a
        partner that never approved the run, or died, witnesses nothing). Raises
        ``LaunchError`` when it fails."""
        witnesses = [
            arg
            for node in self.nodes.values()
            if (node / "witness.vkey").exists()
            for arg in ("--witness-vkey", str(node / "witness.vkey"))
        ]
        vkey = self.coordinator / "audit.vkey"
        return self.cli(
            "audit", "verify", str(run_dir), "--model", str(run_dir / "model.pt"),
            "--vkey", str(vkey), *witnesses, "--quorum", str(quorum),
        )  # fmt: skip

    def kill(self, key: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(key, None)
        if proc is not None:
            kill_tree(proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)

    def stop(self) -> None:
        for key in list(self.procs):
            if key.startswith("run-"):
                self.kill(key, signal.SIGTERM)
        for key in [k for k in self.procs if k != "coordinator"]:
            self.kill(key, signal.SIGTERM)
        self.kill("coordinator", signal.SIGTERM)

    def __enter__(self) -> LocalFederation:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
