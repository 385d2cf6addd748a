"""``fedinsight audit``: keygen, proof and verify, with their exit codes."""

from __future__ import annotations

import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from audit import audit_paths
from cli.audit_cmd import app
from tests.audit.runs import Run, drop_guards, make_run, trust_args

runner = CliRunner()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return make_run(tmp_path_factory.mktemp("cli") / "run", rounds=2)


@pytest.fixture(scope="module")
def run_dir(run: Run) -> Path:
    return run.run_dir


@pytest.fixture(scope="module")
def trust(run: Run, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return trust_args(run, tmp_path_factory.mktemp("keys"))


def test_keygen_writes_a_0600_key_and_prints_only_the_public_key(tmp_path: Path) -> None:
    result = runner.invoke(app, ["keygen", "--out", str(tmp_path), "--name", "coord.test/x"])
    again = runner.invoke(app, ["keygen", "--out", str(tmp_path), "--name", "coord.test/x"])
    witness = runner.invoke(app, ["keygen", "--out", str(tmp_path), "--cosigner"])

    assert result.exit_code == 0 and witness.exit_code == 0
    assert stat.S_IMODE((tmp_path / "coordinator.key").stat().st_mode) == 0o600
    assert (tmp_path / "coordinator.key").read_text().split("+")[4] not in result.output
    assert (tmp_path / "coordinator.vkey").read_text().strip() in result.output
    assert (tmp_path / "witness.vkey").exists()
    assert again.exit_code == 1 and "refusing to overwrite" in again.output


def test_verify_a_good_run_exits_0_and_reports_it(run_dir: Path, trust: list[str]) -> None:
    result = runner.invoke(app, ["verify", str(run_dir), *trust])

    assert result.exit_code == 0, result.output
    assert "audit log verified" in result.output and "hospital-a" in result.output


def test_verify_without_trust_is_a_usage_error(run_dir: Path) -> None:
    result = runner.invoke(app, ["verify", str(run_dir)])

    assert result.exit_code == 2 and "takes trust from you" in result.output


def test_verify_with_the_right_model_exits_0_and_a_wrong_one_exits_1(
    run_dir: Path, tmp_path: Path, trust: list[str]
) -> None:
    (tmp_path / "good.bin").write_bytes(b"model 2")
    (tmp_path / "bad.bin").write_bytes(b"model 1")

    good = runner.invoke(
        app, ["verify", str(run_dir), *trust, "--model", str(tmp_path / "good.bin")]
    )
    bad = runner.invoke(app, ["verify", str(run_dir), *trust, "--model", str(tmp_path / "bad.bin")])

    assert good.exit_code == 0 and "matches" in good.output
    assert bad.exit_code == 1
    assert "verification failed" in bad.output and "final model hash" in bad.output
    assert "Traceback" not in bad.output


def test_verify_a_tampered_run_exits_1_with_a_precise_message(
    run_dir: Path, tmp_path: Path, trust: list[str]
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    conn = sqlite3.connect(audit_paths(copy)[0])
    drop_guards(conn)
    conn.execute(
        "UPDATE leaves SET data = CAST(replace(CAST(data AS TEXT), 'hospital-a', "
        "'hospital-b') AS BLOB) "
        "WHERE start = 2"
    )
    conn.commit()
    conn.close()

    result = runner.invoke(app, ["verify", str(copy), *trust])

    assert result.exit_code == 1
    assert "verification failed" in result.output and "leaf 2" in result.output
    assert "Traceback" not in result.output


def test_proof_then_verify_bundle(run_dir: Path, tmp_path: Path, trust: list[str]) -> None:
    bundle = tmp_path / "round-1.json"
    written = runner.invoke(app, ["proof", str(run_dir), "--round", "1", "--out", str(bundle)])
    checked = runner.invoke(app, ["verify", str(bundle), *trust])
    missing = runner.invoke(app, ["proof", str(run_dir), "--round", "7"])

    assert written.exit_code == 0 and bundle.exists()
    assert checked.exit_code == 0 and "hospital-a, retailer-b" in checked.output
    assert missing.exit_code == 1 and "round 7" in missing.output


def test_verify_a_missing_target_is_a_usage_error(tmp_path: Path) -> None:
    assert runner.invoke(app, ["verify", str(tmp_path / "none")]).exit_code == 2


def test_serve_refuses_a_weak_token_and_a_public_host_without_token(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEDINSIGHT_AUDIT_TOKEN", "changeme")
    weak = runner.invoke(app, ["serve", str(run_dir)])
    monkeypatch.delenv("FEDINSIGHT_AUDIT_TOKEN")
    public = runner.invoke(app, ["serve", str(run_dir), "--host", "0.0.0.0"])
    required = runner.invoke(app, ["serve", str(run_dir), "--token-env"])

    assert weak.exit_code == 2 and "changeme" not in weak.output
    assert public.exit_code == 2 and "without a token" in public.output
    assert required.exit_code == 2 and "FEDINSIGHT_AUDIT_TOKEN" in required.output
