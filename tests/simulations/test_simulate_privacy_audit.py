"""`fedinsight simulate --privacy-audit`: gradient canaries in the partners' DP steps, or canary
customers in their data; the audit reported. The gradient audit of a DP run is checked on the
run that `test_simulate_cli` builds anyway (one federation less)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from privacy.canaries import CANARY_PREFIX

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from insight.datasets import load_cdnow

    events = load_cdnow().events
    keep = sorted(events["customer_id"].unique())[:400]
    path = tmp_path_factory.mktemp("data") / "tiny.csv"
    tiny = events[events["customer_id"].isin(keep)].copy()
    tiny["timestamp"] = tiny["timestamp"].dt.strftime("%Y-%m-%d")
    tiny[["customer_id", "timestamp", "quantity", "amount"]].to_csv(path, index=False)
    return path


def _simulate(args: list[str], out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "simulate", *args, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ, FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION="1"),
        cwd=ROOT,
    )


def _args(data: Path) -> list[str]:
    return [
        "--dataset", "csv", "--data", str(data),
        "--calibration-start", "1997-01-01", "--calibration-end", "1997-09-30",
        "--holdout-end", "1998-06-30", "--partners", "2", "--split", "iid", "--rounds", "1",
        "--local-epochs", "1", "--min-customers", "10", "--partners-at-once", "1",
    ]  # fmt: skip


def _report(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    (run_dir,) = [d for d in tmp_path.iterdir() if d.name != "keys"]
    return run_dir, json.loads((run_dir / "report.json").read_text())


@pytest.mark.slow
def test_gradient_audit_exposes_training_without_dp(tiny_csv: Path, tmp_path: Path) -> None:
    """The audit can fail: without noise every sampled canary shows."""
    args = [*_args(tiny_csv), "--local-epochs", "3", "--no-dp", "--no-value-of-federation"]
    args += ["--no-explain"]
    proc = _simulate([*args, "--privacy-audit", "--canaries", "200"], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    audit = _report(tmp_path)[1]["privacy"]["audit"]
    assert audit["claimed_epsilon"] == "inf"
    assert audit["epsilon_lower_bound"] > 1.0
    assert audit["attack_auc"] > 0.95


@pytest.mark.slow
def test_input_audit_reports_a_bound_at_or_below_the_claimed_epsilon(
    tiny_csv: Path, tmp_path: Path
) -> None:
    args = ["--privacy-audit", "--audit-kind", "input", "--canaries", "100"]
    args += ["--no-value-of-federation", "--no-explain"]
    proc = _simulate([*_args(tiny_csv), *args], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (run_dir,) = [d for d in tmp_path.iterdir() if d.name != "keys"]
    report = json.loads((run_dir / "report.json").read_text())
    audit = report["privacy"]["audit"]
    assert {"method", "canaries", "epsilon_lower_bound", "tpr_at_fpr_0_001"} <= set(audit)
    assert audit["canaries"] == 100
    assert "privacy audit (100 canaries)" in proc.stdout
    assert 0 <= audit["epsilon_lower_bound"] <= audit["claimed_epsilon"]
    # 100 canaries have about 50 non-members: too few for a 0.1% false-positive rate.
    assert audit["tpr_at_fpr_0_001"] is None
    assert "non-member canaries" in audit["tpr_note"]
    # The included canaries are in the partners' raw data, and nowhere in the evaluation.
    raw = pd.concat(pd.read_parquet(p) for p in sorted(run_dir.glob("partner-homes/*/raw.parquet")))
    inserted = raw["customer_id"].astype(str).str.startswith(CANARY_PREFIX)
    assert raw.loc[inserted, "customer_id"].nunique() == audit["included"]
    evaluated = sum(p["customers"] for p in report["partners"].values())
    assert report["metrics"]["federated"]["n_customers"] == evaluated


@pytest.mark.slow  # a CLI process: about a minute on a loaded machine
def test_privacy_audit_refuses_pii_before_writing_anything(tiny_csv: Path, tmp_path: Path) -> None:
    args = ["--privacy-audit", "--audit-kind", "input", "--pii"]
    proc = _simulate([*_args(tiny_csv), *args], tmp_path)
    assert proc.returncode == 1
    assert "--audit-kind input does not combine with --pii" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not [d for d in tmp_path.iterdir() if d.name != "keys"]
