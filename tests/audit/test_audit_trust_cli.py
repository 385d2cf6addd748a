"""``fedinsight audit verify`` takes the officer's trust: quorum, kept checkpoint, unfinished
runs, trust files and bundles under the same policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from audit import COSIGNATURE_V1, NoteSigner, write_vkey
from cli.audit_cmd import app
from tests.audit.runs import Run, make_run, trust_args

runner = CliRunner()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return make_run(tmp_path_factory.mktemp("trust") / "run", rounds=2)


def test_an_untrusted_witness_fails_and_names_the_partner(run: Run, tmp_path: Path) -> None:
    args = trust_args(run, tmp_path)
    stranger = tmp_path / "stranger.vkey"
    write_vkey(stranger, NoteSigner.generate("retailer-b", COSIGNATURE_V1).verifier)
    partial = [*args[:4], "--witness-vkey", str(stranger)]  # hospital-a's key, a stranger's

    result = runner.invoke(app, ["verify", str(run.run_dir), *partial])

    assert result.exit_code == 1 and "retailer-b" in result.output
    assert "not one the officer trusts" in result.output.replace("\n", " ")


def test_a_trust_file_with_a_quorum_works_like_the_options(run: Run, tmp_path: Path) -> None:
    trust = tmp_path / "trust.json"
    trust.write_text(
        json.dumps(
            {
                "coordinator_vkey": run.coordinator.verifier.vkey,
                "witness_vkeys": [k.verifier.vkey for k in run.witness_keys.values()],
                "quorum": 2,
            }
        )
    )

    result = runner.invoke(app, ["verify", str(run.run_dir), "--trust", str(trust)])

    assert result.exit_code == 0, result.output
    assert "quorum" in result.output and "2 (fewest on a checkpoint: 2)" in result.output


def test_a_quorum_above_the_partners_fails(run: Run, tmp_path: Path) -> None:
    args = trust_args(run, tmp_path)

    result = runner.invoke(app, ["verify", str(run.run_dir), *args, "--quorum", "3"])

    assert result.exit_code == 1 and "quorum 3" in result.output


def test_an_unfinished_run_fails_unless_allowed(tmp_path: Path) -> None:
    unfinished = make_run(tmp_path / "run", rounds=1, end=False)
    args = trust_args(unfinished, tmp_path / "keys")

    refused = runner.invoke(app, ["verify", str(unfinished.run_dir), *args])
    allowed = runner.invoke(app, ["verify", str(unfinished.run_dir), *args, "--allow-unfinished"])

    assert refused.exit_code == 1 and "unfinished" in refused.output
    assert allowed.exit_code == 0, allowed.output


def test_a_kept_checkpoint_the_log_extends_passes(tmp_path: Path) -> None:
    longer = make_run(tmp_path / "long", rounds=2)
    from audit import RunAuditLog

    with RunAuditLog.open(longer.run_dir, longer.coordinator) as log:
        latest = log.latest_checkpoint()
        assert latest is not None
        kept_note = latest.text()
    note = tmp_path / "kept.note"
    note.write_text(kept_note)
    args = trust_args(longer, tmp_path / "keys")

    same = runner.invoke(app, ["verify", str(longer.run_dir), *args, "--checkpoint", str(note)])

    assert same.exit_code == 0, same.output
    assert "kept checkpoint" in same.output


def test_a_bundle_follows_the_same_policy(run: Run, tmp_path: Path) -> None:
    args = trust_args(run, tmp_path)
    bundle = tmp_path / "round-2.json"
    assert (
        runner.invoke(
            app, ["proof", str(run.run_dir), "--round", "2", "--out", str(bundle)]
        ).exit_code
        == 0
    )

    good = runner.invoke(app, ["verify", str(bundle), *args])
    strict = runner.invoke(app, ["verify", str(bundle), *args, "--quorum", "3"])
    untrusted = runner.invoke(app, ["verify", str(bundle), *args[:4]])

    assert good.exit_code == 0, good.output
    assert strict.exit_code == 1 and "quorum 3" in strict.output
    assert untrusted.exit_code == 1 and "retailer-b" in untrusted.output
