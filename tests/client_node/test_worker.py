"""The partner-side worker and the ClientApp's hand-over to it (``client_node.worker``,
``client_node.worker_link``): a real Unix socket and a serving thread, handlers stubbed."""

from __future__ import annotations

import os
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flwr.app import ConfigRecord, Context, Message, MetricRecord, RecordDict

from client_node import worker_link
from client_node.worker import serve
from federation import NodeConfig
from tests.flower_replies import received_instruction


def _message() -> Message:
    return received_instruction(RecordDict({"config": ConfigRecord({"server-round": 2})}))


def _context(node_dir: Path) -> Context:
    return Context(
        run_id=7,
        node_id=3,
        node_config={NodeConfig.NODE_DIR: str(node_dir)},
        state=RecordDict(),
        run_config={"num-server-rounds": 3},
    )


def _trained(msg: Message, context: Context) -> Message:
    rnd = msg.content.config_records["config"]["server-round"]
    assert isinstance(rnd, int)
    metrics = MetricRecord({"round-seen": rnd, "node": context.node_id, "pid": os.getpid()})
    return Message(RecordDict({"metrics": metrics}), reply_to=msg)


Handlers = dict[str, Callable[[Message, Context], Message]]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Callable[[Handlers], Path]]:
    """Start a worker thread for a node folder; yields a starter returning that folder."""
    stops: list[list[int]] = []
    threads: list[threading.Thread] = []

    def start(handlers: Handlers) -> Path:
        node_dir = tmp_path / "node"
        node_dir.mkdir(exist_ok=True)
        stop: list[int] = []
        thread = threading.Thread(
            target=serve, args=(node_dir,), kwargs={"handlers": handlers, "code": "c", "stop": stop}
        )
        thread.start()
        deadline = time.monotonic() + 10
        while not worker_link.socket_path(node_dir).exists():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        stops.append(stop)
        threads.append(thread)
        return node_dir

    yield start
    for stop in stops:
        stop.append(1)
    for thread in threads:
        thread.join(timeout=10)


def test_the_worker_answers_for_the_clientapp_and_the_reply_is_addressed_to_the_message(
    running: Callable[[Handlers], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_link, "code_fingerprint", lambda: "c")
    node_dir = running({"train": _trained})
    msg = _message()
    reply = worker_link.delegate("train", msg, _context(node_dir), node_dir)
    assert reply is not None
    metrics = reply.content.metric_records["metrics"]
    assert metrics["round-seen"] == 2 and metrics["node"] == 3
    assert reply.metadata.reply_to_message_id == "m-1" and reply.metadata.dst_node_id == 0
    # Only this user may open the socket, in a folder only this user may list.
    path = worker_link.socket_path(node_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(str(path)) < 108  # a Unix socket's path limit, whatever the node folder's


def test_other_code_another_folder_or_no_worker_means_the_clientapp_works_itself(
    running: Callable[[Handlers], Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[str] = []

    def counted(msg: Message, context: Context) -> Message:
        calls.append("worked")
        return _trained(msg, context)

    node_dir = running({"train": counted})
    monkeypatch.setattr(worker_link, "code_fingerprint", lambda: "other code")
    assert worker_link.delegate("train", _message(), _context(node_dir), node_dir) is None
    monkeypatch.setattr(worker_link, "code_fingerprint", lambda: "c")
    elsewhere = tmp_path / "elsewhere"
    assert worker_link.delegate("train", _message(), _context(elsewhere), node_dir) is None
    assert worker_link.delegate("evaluate", _message(), _context(node_dir), node_dir) is None
    assert worker_link.delegate("train", _message(), _context(elsewhere), elsewhere) is None
    assert calls == []


def test_a_worker_that_dies_mid_message_leaves_the_work_to_the_clientapp(
    running: Callable[[Handlers], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def dies(msg: Message, context: Context) -> Message:
        raise ConnectionResetError("the worker went away")

    monkeypatch.setattr(worker_link, "code_fingerprint", lambda: "c")
    node_dir = running({"train": dies})
    assert worker_link.delegate("train", _message(), _context(node_dir), node_dir) is None
    # A stale socket file with nobody listening: refused, and the app works itself.
    stale = worker_link.socket_path(node_dir.parent / "stale")
    stale.parent.mkdir(mode=0o700, exist_ok=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(stale))
    context = _context(node_dir.parent / "stale")
    assert worker_link.delegate("train", _message(), context, node_dir.parent / "stale") is None
    stale.unlink()


def test_the_code_fingerprint_changes_with_the_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "fp_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "step.py").write_text("EPOCHS = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(worker_link, "PACKAGES", ("fp_pkg",))
    before = worker_link.code_fingerprint()
    assert before == worker_link.code_fingerprint()
    (package / "step.py").write_text("EPOCHS = 2\n")
    assert worker_link.code_fingerprint() != before


def test_the_socket_file_appears_only_once_the_worker_listens(
    running: Callable[[Handlers], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ClientApp that finds the socket file connects: no "connection refused" from a worker
    caught between bind and listen (seen once under load in make test)."""
    there_at_listen: list[bool] = []
    listen = socket.socket.listen

    def watched(self: socket.socket, *args: int) -> None:
        there_at_listen.append(worker_link.socket_path(tmp_path / "node").exists())
        listen(self, *args)

    monkeypatch.setattr(socket.socket, "listen", watched)
    node_dir = running({"train": _trained})

    assert there_at_listen == [False]
    assert stat.S_ISSOCK(os.stat(worker_link.socket_path(node_dir)).st_mode)
    path = worker_link.socket_path(node_dir)
    assert list(path.parent.glob(f"{path.name}.*")) == []  # no staging name left behind
