"""`fedinsight simulate --ray-address`: the partners run on an existing Ray cluster.

The test starts a real two-node Ray cluster on loopback (a head and one worker, one CPU each,
with `ray start --block`, so that stopping the command stops the node), runs a tiny simulation
on it, checks that the cluster served the run, and stops both nodes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from federation.launcher import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
RAY = Path(sys.executable).parent / "ray"
_NODE_OPTIONS: tuple[str, ...] = ("--num-cpus", "1", "--node-ip-address", "127.0.0.1")
_NODE_OPTIONS += ("--block", "--disable-usage-stats")


_TINY_RUN: tuple[str, ...] = (
    "--dataset",
    "synthetic",
    "--customers",
    "1500",
    "--partners",
    "2",
    "--rounds",
    "1",
)
_TINY_RUN += ("--local-epochs", "1", "--no-dp", "--min-customers", "10")
# What the cluster runs is the federation; the steps after it run in the CLI, as without one.
_TINY_RUN += ("--no-value-of-federation", "--no-explain")


def _env() -> dict[str, str]:
    env = dict(os.environ, FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION="1")
    env.pop("RAY_ADDRESS", None)
    return env


def _ray_node(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(RAY), "start", *args, *_NODE_OPTIONS],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_env(),
            start_new_session=True,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # `ray start --block` stops its node's processes
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _cluster_query(address: str, code: str) -> str:
    script = (
        "import json, ray, ray._private.state as state\n"
        f"ray.init(address={address!r}, logging_level='ERROR')\n" + code
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture
def ray_cluster(tmp_path: Path) -> Iterator[str]:
    address = f"127.0.0.1:{free_port()}"
    # A head writes its address where a plain ray.init() on this machine looks for a cluster
    # to join (<temp-dir>/ray_current_cluster): a private temp dir keeps the test's cluster,
    # and the address it leaves behind, away from every other Ray user here. Short, because
    # Ray's Unix sockets live under it.
    temp_dir = tempfile.mkdtemp(prefix="fi-ray-", dir="/tmp")
    port = address.split(":")[1]
    head_options = ["--head", "--port", port, "--include-dashboard", "false"]
    head = _ray_node([*head_options, "--temp-dir", temp_dir], tmp_path / "head.log")
    worker: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + 120
        worker = _ray_node(["--address", address], tmp_path / "worker.log")
        while True:
            nodes = int(
                _cluster_query(address, "print(len([n for n in ray.nodes() if n['Alive']]))")
            )
            if nodes == 2:
                break
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-2000:]
            time.sleep(2)
        yield address
    finally:
        if worker is not None:
            _stop(worker)
        _stop(head)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_a_simulation_runs_its_partners_on_an_existing_ray_cluster(
    ray_cluster: str, tmp_path: Path
) -> None:
    out = tmp_path / "runs"
    command = [sys.executable, "-m", "cli.main", "simulate", "--ray-address", ray_cluster]
    proc = subprocess.run(
        [*command, *_TINY_RUN, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        env=_env(),
        cwd=ROOT,
    )

    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (run_dir,) = [d for d in out.iterdir() if (d / "report.json").exists()]
    report = json.loads((run_dir / "report.json").read_text())
    assert report["audit"]["verified"]
    # The cluster's control store lists every driver that attached: the run's flwr-simulation.
    drivers = json.loads(
        _cluster_query(ray_cluster, "print(json.dumps([j['Entrypoint'] for j in state.jobs()]))")
    )
    assert any("flwr-simulation" in entry for entry in drivers), drivers
