"""``cli.deploy_common.run_foreground`` (a real child process, its log read as it grows) and
``cli.ports`` (real sockets on loopback)."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.deploy_common import run_foreground
from cli.ports import answers, busy_port_reason, can_listen, running_pid, split_address


def _run(tmp_path: Path, code: str) -> tuple[int, list[str], Path]:
    lines: list[str] = []
    log = tmp_path / "logs" / "child.log"
    log.parent.mkdir()
    log.write_text("an earlier start\n")
    result = run_foreground(
        [sys.executable, "-c", code],
        env=dict(os.environ),
        log_path=log,
        pid_path=tmp_path / "child.pid",
        on_line=lines.append,
    )
    return result, lines, log


def test_run_foreground_hands_each_new_log_line_over_and_returns_the_exit_code(
    tmp_path: Path,
) -> None:
    code, lines, log = _run(
        tmp_path, "import sys, time; print('one', flush=True); time.sleep(0.5); "
        "print('two'); sys.stdout.write('last'); sys.exit(3)"
    )  # fmt: skip

    assert code == 3
    assert lines == ["one", "two", "last"]
    assert log.read_text() == "an earlier start\none\ntwo\nlast"
    assert not (tmp_path / "child.pid").exists()


def test_run_foreground_reports_a_child_killed_by_a_signal_as_128_plus_it(tmp_path: Path) -> None:
    code, _, _ = _run(tmp_path, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")

    assert code == 128 + 9


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def test_a_listening_port_cannot_be_listened_on_and_answers(listening: int) -> None:
    assert not can_listen("127.0.0.1", listening)
    assert answers("127.0.0.1", listening)


def test_a_closed_port_can_be_listened_on_and_does_not_answer() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    assert can_listen("127.0.0.1", port)
    assert not answers("127.0.0.1", port)


def test_busy_port_reason_names_the_process_of_the_pid_file(listening: int, tmp_path: Path) -> None:
    pid_path = tmp_path / "superlink.pid"
    pid_path.write_text(f"{os.getpid()}\n")

    reason = busy_port_reason("127.0.0.1", listening, what="the SuperLink", pid_path=pid_path)

    assert f"port {listening} on 127.0.0.1 is in use" in reason
    assert f"runs already (pid {os.getpid()}" in reason


def test_busy_port_reason_without_a_live_pid_names_another_program(
    listening: int, tmp_path: Path
) -> None:
    reason = busy_port_reason(
        "127.0.0.1", listening, what="the SuperLink", pid_path=tmp_path / "none.pid"
    )

    assert "in use by another program" in reason


def test_busy_port_reason_is_empty_for_a_free_port(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    assert busy_port_reason("127.0.0.1", port, what="x", pid_path=tmp_path / "p") == ""


def test_running_pid_ignores_a_dead_or_garbled_pid_file(tmp_path: Path) -> None:
    path = tmp_path / "x.pid"
    path.write_text("not a pid\n")
    assert running_pid(path) is None
    path.write_text("999999999\n")
    assert running_pid(path) is None


@pytest.mark.parametrize(
    ("address", "parts"), [("127.0.0.1:9091", ("127.0.0.1", 9091)), ("[::1]:80", ("::1", 80))]
)
def test_split_address(address: str, parts: tuple[str, int]) -> None:
    assert split_address(address) == parts


@pytest.mark.parametrize("address", ["localhost", ":80", "host:port"])
def test_split_address_refuses_what_is_not_host_port(address: str) -> None:
    with pytest.raises(ValueError, match="is not HOST:PORT"):
        split_address(address)
