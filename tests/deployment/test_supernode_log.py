"""``cli.supernode_log`` on lines captured from Flower 1.42's SuperNode, and ``cli.node_watch``
on whole captured logs: what ``fedinsight node start`` shows and how it ends. No Flower process
is started here (tests/deployment/test_node_start_e2e.py starts real ones)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from cli.node_watch import NodeWatch
from cli.supernode_log import NodeEvent, NodeState, classify

# Captured from logs/supernode.log of `fedinsight node start` (Flower 1.42), colour codes kept.
STARTING = "\x1b[92mINFO \x1b[0m:      Starting Flower SuperNode"
RETRY = "\x1b[93mWARNING \x1b[0m:   Connection attempt failed, retrying in 0.38 seconds"
SUCCESS = "\x1b[92mINFO \x1b[0m:      Connection successful after 29.01 seconds and 7 tries."
NODE_ID = "\x1b[92mINFO \x1b[0m:      SuperNode ID: 9725153616574929892"
TERMINATED = "\x1b[92mINFO \x1b[0m:      SuperNode terminated gracefully."
BIND = (
    "ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 50801): "
    "address already in use"
)
NOT_ALLOWED = [
    STARTING,
    "INFO:     Uvicorn running on http://127.0.0.1:59963 (Press CTRL+C to quit)",
    "\x1b[91mERROR \x1b[0m:     Exit Code: 305",
    "Failed to initialize the connection to the SuperLink.",
    "[code: 2004] Failed to activate SuperNode.",
    "The SuperNode could not establish a connection to the SuperLink.",
    "",
    "For more information, visit: <https://flower.ai/docs/framework/1.42/en/ref-exit-codes/305.html>",
    "INFO:     Shutting down",
]
PORT_TAKEN = [
    STARTING,
    BIND,
    "INFO:     Waiting for application shutdown.",
    "Traceback (most recent call last):",
    '  File "/venv/bin/flower-supernode", line 6, in <module>',
    "RuntimeError: SuperNode Runtime HTTP API failed to start.",
]


@pytest.mark.parametrize(
    ("line", "event"),
    [
        (STARTING, NodeEvent(NodeState.CONNECTING)),
        (RETRY, NodeEvent(NodeState.RETRYING, "next try in 0.38 s")),
        (SUCCESS, NodeEvent(NodeState.CONNECTED, "after 7 tries in 29.01 s")),
        (NODE_ID, NodeEvent(NodeState.CONNECTED, "SuperNode ID 9725153616574929892")),
        ("[code: 2004] Failed to activate SuperNode.", NodeEvent(NodeState.REFUSED)),
        (BIND, NodeEvent(NodeState.PORT_IN_USE, "127.0.0.1:50801")),
        (TERMINATED, NodeEvent(NodeState.STOPPED)),
        (
            "ERROR client_node.client_app: cannot train: /data/bad.csv: missing required column "
            "'amount' (an event column); the first line must be the header",
            NodeEvent(
                NodeState.RUN_ERROR,
                "cannot train: /data/bad.csv: missing required column 'amount' (an event "
                "column); the first line must be the header",
            ),
        ),
        (
            "\x1b[91mERROR \x1b[0m:     Exit Code: 305",
            NodeEvent(NodeState.FAILED, "Flower exit code 305"),
        ),
        (
            "\x1b[91mERROR \x1b[0m:     SSL/TLS handshake error detected.",
            NodeEvent(NodeState.TLS_FAILED),
        ),
    ],
)
def test_a_known_flower_line_maps_to_its_state(line: str, event: NodeEvent) -> None:
    assert classify(line) == event


@pytest.mark.parametrize(
    "line",
    [
        "\x1b[92mINFO \x1b[0m:      SuperExec terminated gracefully.",
        "\x1b[92mINFO \x1b[0m:      Starting Flower SuperExec",
        "\x1b[92mINFO \x1b[0m:      ",
        "12/02/2026 16:45:31:INFO:",
        "\x1b[92mINFO \x1b[0m:      Receiving: train message (ID: e4cba95dd6c64280a0fd4a35d63cf95)",
        "INFO:     Uvicorn running on http://127.0.0.1:59963 (Press CTRL+C to quit)",
    ],
)
def test_other_lines_report_no_state(line: str) -> None:
    assert classify(line) is None


def test_the_client_apps_refusal_line_maps_to_a_refused_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from client_node import client_app

    msg = SimpleNamespace(metadata=SimpleNamespace(message_type="train"))
    reason = "run not approved by this partner: manifest sha256 ab12"
    with caplog.at_level(logging.WARNING, logger="client_node.client_app"):
        client_app._log_refusal(msg, SimpleNamespace(run_id=42), reason)  # type: ignore[arg-type]

    line = f"WARNING client_node.client_app: {caplog.records[-1].getMessage()}"
    assert classify(line) == NodeEvent(NodeState.RUN_REFUSED, f"run 42 (train): {reason}")


# NodeWatch ------------------------------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def open_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def _watch(port: int, tmp_path: Path) -> tuple[NodeWatch, list[str]]:
    shown: list[str] = []
    return NodeWatch(f"127.0.0.1:{port}", tmp_path / "supernode.log", shown.append), shown


def _texts(shown: list[str]) -> list[str]:
    """The shown lines without their time stamp and markup."""
    return [line.split("[bold]", 1)[1].removesuffix("[/bold]") for line in shown]


def test_retries_name_an_unreachable_coordinator_once_then_connected(
    closed_port: int, tmp_path: Path
) -> None:
    watch, shown = _watch(closed_port, tmp_path)

    for line in (STARTING, RETRY, RETRY, RETRY, SUCCESS, NODE_ID):
        watch.line(line)

    address = f"127.0.0.1:{closed_port}"
    assert _texts(shown) == [
        f"connecting to the coordinator at {address}",
        f"retrying: the coordinator at {address} is not reachable (not started yet?)",
        f"connected to the coordinator at {address} (SuperNode ID 9725153616574929892)",
    ]


def test_a_retry_while_connected_to_a_coordinator_that_answers_is_not_shown(
    open_port: int, tmp_path: Path
) -> None:
    watch, shown = _watch(open_port, tmp_path)

    for line in (STARTING, NODE_ID, RETRY):
        watch.line(line)

    assert [t.split(" ", 1)[0] for t in _texts(shown)] == ["connecting", "connected"]


def test_a_retry_before_a_coordinator_that_answers_accepted_the_node(
    open_port: int, tmp_path: Path
) -> None:
    watch, shown = _watch(open_port, tmp_path)

    watch.line(RETRY)

    assert "answers but has not accepted this node yet" in _texts(shown)[0]


def test_a_node_not_on_the_allow_list_ends_with_exit_1_and_the_reason(
    closed_port: int, tmp_path: Path
) -> None:
    watch, shown = _watch(closed_port, tmp_path)

    for line in NOT_ALLOWED:
        watch.line(line)
    code, reason = watch.ending(1)

    assert code == 1
    assert "not on the coordinator's allow-list" in reason
    assert str(tmp_path / "supernode.log") in reason
    assert (
        _texts(shown)[-1]
        == "refused by the coordinator: this node's key is not on the coordinator's allow-list"
    )


def test_a_taken_runtime_port_ends_with_exit_1_and_names_the_port(
    closed_port: int, tmp_path: Path
) -> None:
    watch, shown = _watch(closed_port, tmp_path)

    for line in PORT_TAKEN:
        watch.line(line)
    code, reason = watch.ending(1)

    assert code == 1 and reason.startswith("port 127.0.0.1:50801 is in use")
    assert "port in use" in _texts(shown)[-1]


def test_a_killed_supernode_ends_with_exit_1_and_the_signal(
    closed_port: int, tmp_path: Path
) -> None:
    watch, _ = _watch(closed_port, tmp_path)
    watch.line(NODE_ID)

    code, reason = watch.ending(137)

    assert code == 1 and reason.startswith("the SuperNode was killed by SIGKILL")


def test_an_unknown_flower_exit_gives_flowers_message(closed_port: int, tmp_path: Path) -> None:
    watch, _ = _watch(closed_port, tmp_path)
    for line in (
        "\x1b[91mERROR \x1b[0m:     Exit Code: 600",
        "SuperLink address (x) cannot be parsed.",
        "",
    ):
        watch.line(line)

    code, reason = watch.ending(1)

    assert code == 1
    assert reason.startswith("the SuperNode stopped: Flower exit code 600 SuperLink address")


def test_a_python_error_is_the_reason_when_nothing_else_is_known(
    closed_port: int, tmp_path: Path
) -> None:
    watch, _ = _watch(closed_port, tmp_path)
    for line in PORT_TAKEN[2:]:
        watch.line(line)

    _, reason = watch.ending(1)

    assert reason.startswith("the SuperNode failed: RuntimeError: SuperNode Runtime HTTP API")


def test_a_stop_asked_for_ends_with_exit_0_and_stopped(closed_port: int, tmp_path: Path) -> None:
    watch, shown = _watch(closed_port, tmp_path)
    watch.line(NODE_ID)

    watch.stopped()
    watch.line(TERMINATED)

    assert watch.ending(0) == (0, "")
    assert _texts(shown)[-1] == "stopped"


def test_every_refused_run_is_shown_even_the_same_twice(closed_port: int, tmp_path: Path) -> None:
    watch, shown = _watch(closed_port, tmp_path)
    line = "WARNING client_node.client_app: refused the train message of run 7: not approved"

    watch.line(line)
    watch.line(line)

    assert _texts(shown) == ["refused a run: run 7 (train): not approved"] * 2


def test_a_refusal_just_after_the_coordinator_came_up_restarts_three_times_at_most(
    closed_port: int, tmp_path: Path
) -> None:
    watch, shown = _watch(closed_port, tmp_path)
    watch.line(RETRY)  # the coordinator does not answer yet

    pauses = []
    for _ in range(4):
        for line in NOT_ALLOWED:
            watch.line(line)
        pauses.append(watch.pause_before_restart())

    assert pauses == [5.0, 10.0, 20.0, None]
    restarts = [t for t in _texts(shown) if "refused this node while it was starting up" in t]
    assert [t[-5:] for t in restarts] == ["(1/3)", "(2/3)", "(3/3)"]
    assert watch.ending(1)[0] == 1


def test_a_refusal_by_a_coordinator_that_answered_all_along_is_final(
    open_port: int, tmp_path: Path
) -> None:
    watch, _ = _watch(open_port, tmp_path)
    watch.line(RETRY)
    for line in NOT_ALLOWED:
        watch.line(line)

    assert watch.pause_before_restart() is None


def test_a_reconnection_after_the_coordinator_was_gone_is_shown(
    closed_port: int, tmp_path: Path
) -> None:
    watch, shown = _watch(closed_port, tmp_path)

    for line in (NODE_ID, RETRY, SUCCESS):
        watch.line(line)

    address = f"127.0.0.1:{closed_port}"
    connected = f"connected to the coordinator at {address} (SuperNode ID 9725153616574929892)"
    assert _texts(shown) == [
        connected,
        f"retrying: the coordinator at {address} is no longer reachable",
        connected,
    ]
