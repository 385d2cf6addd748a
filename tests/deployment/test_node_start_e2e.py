"""What ``fedinsight node start`` and ``coordinator start`` tell a person, with real Flower
processes on loopback: a node started before its coordinator retries, then connects; a node
whose key is not allowed, a second coordinator or node on a busy port, a SuperNode that dies
each end with exit 1 and a one-line reason; a refused run shows its reason in the partner's
terminal and log; Ctrl-C is "stopped", exit 0.

One federation for the module, and no training: only the refused run submits a run (one round
that every partner refuses). Every process is stopped by PID with its tree at the end.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from federation import flower_env, kill_tree
from simulations.deployment import LocalFederation

pytestmark = pytest.mark.slow

DATA = "customer_id,timestamp,quantity,amount\n00001,1997-01-02,1,10.5\n00002,1997-03-04,2,3\n"


def _words(text: str) -> str:
    """``text`` with rich's line wrapping undone."""
    return " ".join(text.split())


def _wait_for(path: Path, text: str, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = _words(path.read_text(errors="replace")) if path.exists() else ""
        if text in seen:
            return seen
        time.sleep(0.5)
    raise AssertionError(f"{text!r} not in {path} after {timeout:.0f}s:\n{seen[-3000:]}")


def _fedinsight(fed: LocalFederation, *args: str, timeout: float = 120) -> tuple[int, str, str]:
    out = subprocess.run(
        [fed.fedinsight, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**flower_env(fed.coordinator / "flwr-home"), "COLUMNS": "200"},
    )
    return out.returncode, _words(out.stdout), _words(out.stderr)


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    """Node ``a`` started before the coordinator: it retried, then connected."""
    root = tmp_path_factory.mktemp("node-start")
    data = root / "events.csv"
    data.write_text(DATA, encoding="utf-8")
    with LocalFederation(root / "fed") as federation:
        federation.init()
        for name in ("a", "b", "c"):
            federation.add_node(name, data)
        federation.add_node("stranger", data, allow=False)
        federation.start_node("a")
        _wait_for(federation.root / "logs" / "a.out", "retrying:")
        federation.start_coordinator()
        _wait_for(federation.root / "logs" / "a.out", "connected to the coordinator")
        yield federation


def test_a_node_started_before_the_coordinator_retries_then_connects(
    fed: LocalFederation,
) -> None:
    shown = _words((fed.root / "logs" / "a.out").read_text())
    address = fed.address

    connecting = shown.index(f"connecting to the coordinator at {address}")
    retrying = shown.index(f"retrying: the coordinator at {address} is not reachable")
    connected = shown.index(f"connected to the coordinator at {address} (SuperNode ID")
    assert connecting < retrying < connected


def test_a_node_whose_key_is_not_allowed_exits_1_with_the_reason(fed: LocalFederation) -> None:
    code, out, err = _fedinsight(fed, "node", "start", str(fed.nodes["stranger"]))

    assert code == 1, out + err
    assert "refused by the coordinator: this node's key is not on the coordinator's" in out
    assert "error: the coordinator refused this node: its public key (auth/node.pub) is not" in err
    assert "Traceback" not in out + err


def test_a_second_coordinator_start_on_its_busy_port_fails_clearly(fed: LocalFederation) -> None:
    pid_file = fed.coordinator / "superlink.pid"
    pid = pid_file.read_text()

    code, out, err = _fedinsight(fed, "coordinator", "start", str(fed.coordinator))

    assert code == 1, out + err
    assert f"error: port {fed.port} on 127.0.0.1 is in use: the SuperLink of this folder" in err
    assert f"runs already (pid {pid.strip()}" in err
    assert "SuperLink ready" not in out
    assert pid_file.read_text() == pid  # the running SuperLink's pid file is left alone


def test_a_second_node_start_on_its_busy_port_fails_clearly(fed: LocalFederation) -> None:
    code, out, err = _fedinsight(fed, "node", "start", str(fed.nodes["a"]))

    assert code == 1, out + err
    assert "is in use: the SuperNode of this folder runs already" in err
    assert "SuperNode started" not in out
    assert (fed.nodes["a"] / "supernode.pid").exists()


def test_a_refused_run_shows_its_reason_in_the_partners_terminal_and_log(
    fed: LocalFederation,
) -> None:
    run = fed.submit("refused", "num-server-rounds=1 min-partners=1 local-epochs=1")
    run.wait(timeout=300)

    shown = _wait_for(fed.root / "logs" / "a.out", "refused a run:", timeout=30)
    assert "(train): run not approved by this partner: manifest sha256" in shown
    log = (fed.nodes["a"] / "logs" / "supernode.log").read_text()
    assert "WARNING client_node.client_app: refused the train message of run" in log
    assert "`fedinsight node approve` to allow it" in log
    assert ":INFO:\n" not in log  # Flower's empty line is no longer printed twice


def test_a_supernode_killed_ends_node_start_with_exit_1_and_the_signal(
    fed: LocalFederation,
) -> None:
    node = fed.start_node("b")
    _wait_for(fed.root / "logs" / "b.out", "connected to the coordinator")

    kill_tree(int((fed.nodes["b"] / "supernode.pid").read_text()), signal.SIGKILL)

    assert node.wait(timeout=60) == 1
    shown = _words((fed.root / "logs" / "b.out").read_text())
    assert "error: the SuperNode was killed by SIGKILL (exit 137)" in shown


def test_ctrl_c_stops_the_node_with_exit_0(fed: LocalFederation) -> None:
    node = fed.start_node("c")
    _wait_for(fed.root / "logs" / "c.out", "connected to the coordinator")

    node.send_signal(signal.SIGINT)

    assert node.wait(timeout=60) == 0
    shown = _words((fed.root / "logs" / "c.out").read_text())
    assert "stopped" in shown.split("connected to the coordinator", 1)[1]
    assert "error" not in shown
