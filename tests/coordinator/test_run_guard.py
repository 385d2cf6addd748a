"""Runs cannot be confused: a run directory is locked while it runs, a finished run is never
run again, a run config other than the stored one is refused, and a run that trained no round
leaves no model.pt (the ServerApp driven by a fake grid: no Flower processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import pytest
from flwr.app import ConfigRecord, Context, Message, MessageType, Metadata, RecordDict
from flwr.serverapp import Grid

from audit import NoteSigner, RunAuditLog, run_end_record
from coordinator.errors import (
    ConfigMismatchError,
    NoPartnersError,
    RunFinishedError,
    RunLockedError,
)
from coordinator.replies import SortedReplies
from coordinator.run_guard import RunLock, check_not_finished, check_same_config, store_run_config
from coordinator.server_app import main
from federation import (
    Action,
    Partner,
    Progress,
    Query,
    Record,
    RunDir,
    RunSettings,
    Status,
    run_manifest,
    write_manifest,
)
from tests.deployment.test_resume_and_replies import WITNESSES, _round, _start, sha

# the lock ---------------------------------------------------------------------------------------


def test_a_second_locker_of_a_run_directory_is_refused(tmp_path: Path) -> None:
    first = RunLock(RunDir(tmp_path / "r1").lock, what="run r1")
    second = RunLock(RunDir(tmp_path / "r1").lock, what="run r1")

    with (
        first,
        pytest.raises(RunLockedError, match=rf"run r1 is in progress \(process {os.getpid()}"),
    ):
        second.acquire()

    assert not second.held


def test_the_lock_is_free_again_once_released(tmp_path: Path) -> None:
    path = RunDir(tmp_path / "r1").lock
    with RunLock(path, what="run r1"):
        pass

    with RunLock(path, what="run r1") as again:
        assert again.held


def test_a_lock_held_by_another_process_refuses_until_that_process_dies(tmp_path: Path) -> None:
    path = RunDir(tmp_path / "r1").lock
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from coordinator.run_guard import RunLock;"
            f"RunLock(Path({str(path)!r}), what='run r1').acquire(); print('held', flush=True);"
            "time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLockedError, match=f"process {holder.pid}"):
            RunLock(path, what="run r1").acquire()
    finally:
        holder.send_signal(signal.SIGKILL)  # a crash: the kernel drops the lock
        holder.wait(timeout=30)

    with RunLock(path, what="run r1") as lock:
        assert lock.held


# finished runs and run configs ------------------------------------------------------------------

SIGNER = NoteSigner.generate("fedinsight.local/guard")


def _log(run_dir: Path, *records: dict[str, Any]) -> None:
    log = RunAuditLog.create(run_dir, SIGNER)
    for record in records:
        log.append_record(record)
    log.close()


def _ended(run_dir: Path) -> str:
    after = sha("model 1")
    end = run_end_record(final_model_hash=after, rounds=1, ended_at="2026-01-01T12:00:00Z")
    _log(run_dir, _start(), _round(1, sha("model 0"), after), end)
    return after


def test_a_finished_run_is_reported_with_its_rounds_and_final_model(tmp_path: Path) -> None:
    final = _ended(tmp_path / "r1")
    (tmp_path / "r1" / "model.pt").write_bytes(b"model")

    with pytest.raises(RunFinishedError, match="run r1 already finished: 1 round") as info:
        check_not_finished(tmp_path / "r1")

    assert (info.value.rounds, info.value.final_model_hash) == (1, final)
    assert final[:16] in str(info.value) and "nothing was run" in str(info.value)


def test_an_unfinished_run_or_a_new_directory_is_not_finished(tmp_path: Path) -> None:
    _log(tmp_path / "crashed", _start(), _round(1, sha("model 0"), sha("model 1")))

    check_not_finished(tmp_path / "crashed")
    check_not_finished(tmp_path / "new")


def test_a_different_run_config_is_refused_naming_the_keys(tmp_path: Path) -> None:
    store_run_config(tmp_path, RunSettings(num_server_rounds=3))

    with pytest.raises(ConfigMismatchError) as info:
        check_same_config(tmp_path, RunSettings(num_server_rounds=5, learning_rate=0.5))

    assert info.value.keys == ["learning-rate", "num-server-rounds"]
    assert "learning-rate, num-server-rounds" in str(info.value)


def test_the_same_run_config_passes_wherever_the_run_directory_is(tmp_path: Path) -> None:
    store_run_config(tmp_path, RunSettings(num_server_rounds=3, run_dir="/a/r1"))

    check_same_config(tmp_path, RunSettings(num_server_rounds=3, run_dir="/b/r1"))


def test_a_run_directory_with_only_a_manifest_is_compared_on_its_terms(tmp_path: Path) -> None:
    write_manifest(run_manifest(RunSettings(num_server_rounds=3)), RunDir(tmp_path).manifest)

    with pytest.raises(ConfigMismatchError) as info:
        check_same_config(tmp_path, RunSettings(num_server_rounds=4))

    # num-evaluations is derived from num-server-rounds, so it differs too.
    assert info.value.keys == ["num-evaluations", "num-server-rounds"]


# the ServerApp with a fake grid ------------------------------------------------------------------


def _metadata(node_id: int, kind: str) -> Metadata:
    return Metadata(
        run_id=1,
        message_id=f"reply-{node_id}-{time.monotonic_ns()}",
        src_node_id=node_id,
        dst_node_id=0,
        reply_to_message_id="instruction",
        group_id="1",
        created_at=0.0,
        ttl=3600.0,
        message_type=kind,
    )


@pytest.fixture(autouse=True)
def _task_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flower stamps messages with the running task's identity, which a test has to give."""
    from flwr.supercore.task_identity import TaskIdentity

    monkeypatch.setattr(TaskIdentity, "_run_id", 1)
    monkeypatch.setattr(TaskIdentity, "_node_id", 0)
    monkeypatch.setattr(TaskIdentity, "_task_id", 1)


class FakeGrid:
    """Two partners, p0 (node 1) and p1 (node 2), who answer hello and cosign queries (without
    cosigning) and answer train as ``train_status`` says, or not at all (``None``)."""

    def __init__(self, train_status: str | None) -> None:
        self.train_status = train_status
        self.sent: list[str] = []  # message types (and query actions) sent

    def get_node_ids(self) -> list[int]:
        return [1, 2]

    def send_and_receive(self, messages: Iterable[Message], timeout: float = 0) -> list[Message]:
        replies = []
        for msg in messages:
            node = msg.metadata.dst_node_id
            partner: dict[str, Any] = {Partner.NAME: f"p{node - 1}"}
            kind = msg.metadata.message_type
            if kind == MessageType.QUERY:
                action = str(msg.content.config_records[Record.CONFIG][Query.ACTION])
                self.sent.append(f"query {action}")
                if action == Action.HELLO:
                    partner[Partner.WITNESS_VKEY] = WITNESSES[f"p{node - 1}"].verifier.vkey
            else:
                self.sent.append(kind)
                if self.train_status is None:
                    continue
                partner |= {Partner.STATUS: self.train_status, Partner.REASON: "run not approved"}
            content = RecordDict({Record.PARTNER: ConfigRecord(partner)})
            reply: Message = Message(content, metadata=_metadata(node, kind))  # type: ignore[call-overload]
            replies.append(reply)
        return replies


def _serve(grid: FakeGrid, context: Context) -> None:
    main(cast("Grid", grid), context)


def _context(run_dir: Path, **config: Any) -> Context:
    settings = RunSettings(run_dir=str(run_dir), num_server_rounds=2, round_timeout=1.0)
    run_config = {**settings.to_flower(), **config}
    return Context(run_id=1, node_id=0, node_config={}, state=RecordDict(), run_config=run_config)


def test_a_second_serverapp_of_a_locked_run_directory_asks_no_partner(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "r1"
    grid = FakeGrid(Status.REFUSED)

    with RunLock(RunDir(run_dir).lock, what="run r1"), pytest.raises(RunLockedError):
        _serve(grid, _context(run_dir))

    assert grid.sent == []
    assert not RunDir(run_dir).audit_log.exists()


def test_a_finished_run_submitted_again_asks_no_partner(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "r1"
    _serve(FakeGrid(Status.REFUSED), _context(run_dir))
    grid = FakeGrid(Status.REFUSED)

    with pytest.raises(RunFinishedError):
        _serve(grid, _context(run_dir))

    assert grid.sent == []


def test_another_run_config_under_an_unfinished_run_asks_no_partner(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "r1"
    with pytest.raises(NoPartnersError):
        _serve(FakeGrid(None), _context(run_dir))  # every train message unanswered: a crash
    grid = FakeGrid(Status.REFUSED)

    with pytest.raises(ConfigMismatchError, match="local-epochs"):
        _serve(grid, _context(run_dir, **{"local-epochs": 7}))

    assert grid.sent == []


def test_when_every_partner_refuses_no_model_is_saved_and_each_reason_is_named(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "runs" / "r1"

    _serve(FakeGrid(Status.REFUSED), _context(run_dir))

    files = RunDir(run_dir)
    assert not files.model.exists()
    assert files.round_models() == {}
    end = [e for e in _progress(files) if e[Progress.EVENT] == Progress.END][-1]
    assert end["final_model_sha256"] is None
    assert end["stopped_early"] == (
        "every partner refused: p0 refused (run not approved); p1 refused (run not approved)"
    )
    summary = json.loads(files.federation_summary.read_text())
    assert summary["stopped_early"] == end["stopped_early"]


def test_when_every_partner_fails_no_model_is_saved_and_each_partner_is_named(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "runs" / "r1"

    no_reply = r"failed \(no reply before round-timeout \(1s\)\)"
    with pytest.raises(NoPartnersError, match=rf"p0 {no_reply}; p1 {no_reply}"):
        _serve(FakeGrid(None), _context(run_dir))

    assert not RunDir(run_dir).model.exists()


def test_a_crashed_run_is_resumed_when_nobody_holds_its_lock(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "r1"
    with pytest.raises(NoPartnersError):
        _serve(FakeGrid(None), _context(run_dir))
    grid = FakeGrid(Status.REFUSED)

    _serve(grid, _context(run_dir))

    events = [e[Progress.EVENT] for e in _progress(RunDir(run_dir))]
    assert events == [
        *(Progress.START, Progress.ROUND_START, Progress.FAILED),  # the crash
        *(Progress.RESUME, Progress.ROUND_START, Progress.STOPPED, Progress.END),
    ]
    assert "train" in grid.sent


def _progress(files: RunDir) -> list[dict[str, Any]]:
    return [json.loads(line) for line in files.progress.read_text().splitlines()]


def test_describe_names_every_partner_and_its_reason() -> None:
    replies = SortedReplies(
        refusals={"p2": "privacy budget"},
        failures=["p0"],
        errors={"p1": "events.csv, line 3, column 'amount': not a number"},
        rejected={"p3": "update is not finite"},
    )

    assert replies.describe() == (
        "p0 failed (no reply); p1 bad data (events.csv, line 3, column 'amount': not a number); "
        "p2 refused (privacy budget); p3 update rejected (update is not finite)"
    )
