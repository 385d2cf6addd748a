"""``fedinsight coordinator run`` refuses to confuse runs, in process and before anything is
submitted: a finished name is reported (exit 3), a name in use or a different run config is
refused (exit 1). No SuperLink is started: a refused submission never reaches ``flwr run``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from audit import RunAuditLog, read_signer, run_end_record
from cli.coordinator_cmd import ALREADY_FINISHED, _run_settings
from cli.main import app
from coordinator.run_guard import RunLock, store_run_config
from federation import RunDir
from tests.deployment.test_resume_and_replies import _round, _start, sha

runner = CliRunner()


def _run(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def _text(result: Result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def coordinator(tmp_path: Path) -> Path:
    folder = tmp_path / "coordinator"
    result = _run("coordinator", "init", folder, "--address", "127.0.0.1:9556")
    assert result.exit_code == 0, result.output
    return folder


def _submit(coordinator: Path, run_config: str = "num-server-rounds=2") -> Result:
    return _run("coordinator", "run", coordinator, "--name", "r1", "--run-config", run_config)


def _not_submitted(result: Result) -> None:
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "flwr" not in result.output  # the `flwr run` command line is printed on submission


def test_a_finished_run_is_reported_and_not_run_again(coordinator: Path) -> None:
    run_dir = coordinator / "runs" / "r1"
    log = RunAuditLog.create(run_dir, read_signer(coordinator / "audit.key"))
    final = sha("model 1")
    for record in (
        _start(),
        _round(1, sha("model 0"), final),
        run_end_record(final_model_hash=final, rounds=1, ended_at="2026-01-01T12:00:00Z"),
    ):
        log.append_record(record)
    log.close()
    (run_dir / "model.pt").write_bytes(b"model")

    result = _submit(coordinator)

    assert result.exit_code == ALREADY_FINISHED == 3, result.output
    assert "run r1 already finished: 1 round(s), final model " + final[:16] in _text(result)
    assert "nothing was run" in _text(result)
    _not_submitted(result)


def test_a_different_run_config_under_a_used_name_is_refused(coordinator: Path) -> None:
    run_dir = coordinator / "runs" / "r1"
    settings, _ = _run_settings("num-server-rounds=3")
    run_dir.mkdir(parents=True)
    store_run_config(
        run_dir, dataclasses.replace(settings, audit_key=str(coordinator / "audit.key"))
    )

    result = _submit(coordinator, "num-server-rounds=2 local-epochs=3")

    assert result.exit_code == 1, result.output
    assert "differing: local-epochs, num-server-rounds" in _text(result)
    _not_submitted(result)


@pytest.mark.parametrize(
    ("lock", "message"),
    [("lock", "run r1 is in progress"), ("submit_lock", "a submission of run r1 is in progress")],
)
def test_a_name_in_use_is_refused(coordinator: Path, lock: str, message: str) -> None:
    path = getattr(RunDir(coordinator / "runs" / "r1"), lock)

    with RunLock(path, what="the other"):
        result = _submit(coordinator)

    assert result.exit_code == 1, result.output
    assert message in _text(result)
    _not_submitted(result)


def test_the_evaluation_labels_totals_as_sums_and_metrics_as_averages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from rich.console import Console

    from cli.run_view import print_evaluation

    print_evaluation(Console(), {"n-customers": 400, "auc-any-repeat": 0.7, "num-examples": 400})

    out = capsys.readouterr().out
    totals, averages = out.split("per-customer metrics (averages over partners")
    assert "federation totals (sums over partners)" in totals and '"n-customers": 400' in totals
    assert '"auc-any-repeat": 0.7' in averages and "n-customers" not in averages
