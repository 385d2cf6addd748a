"""`fedinsight simulate` refuses, before any training, what a partner would refuse: a δ above 1/n
and a run without DP for partners that have an ε budget (issue 13)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def _simulate(data: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [
        "simulate", "--dataset", "csv", "--data", str(data),
        "--calibration-start", "1997-01-01", "--calibration-end", "1997-09-30",
        "--holdout-end", "1998-06-30", "--partners", "2", "--split", "iid", "--rounds", "1",
        "--local-epochs", "1", "--min-customers", "10", "--partners-at-once", "1",
        "--out", str(out), *extra,
    ]  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION="1"),
        cwd=ROOT,
    )


def _nothing_trained(out: Path) -> bool:
    runs = [d for d in out.iterdir() if d.name != "keys"] if out.exists() else []
    return not any((d / "model.pt").exists() for d in runs)


def test_a_delta_above_one_over_n_stops_simulate_with_a_clear_error(
    tiny_csv: Path, tmp_path: Path
) -> None:
    proc = _simulate(tiny_csv, tmp_path / "runs", "--target-delta", "0.05")

    assert proc.returncode == 1
    message = " ".join(proc.stderr.split())
    assert "target-delta 0.05 is above 1/n" in message and "partner-" in message
    assert "Traceback" not in proc.stderr
    assert _nothing_trained(tmp_path / "runs")


def test_no_dp_with_an_epsilon_budget_stops_simulate_with_a_clear_error(
    tiny_csv: Path, tmp_path: Path
) -> None:
    proc = _simulate(tiny_csv, tmp_path / "runs", "--no-dp", "--epsilon-budget", "3")

    assert proc.returncode == 1
    message = " ".join(proc.stderr.split())
    assert "--no-dp with an epsilon budget" in message
    assert "Traceback" not in proc.stderr
    assert _nothing_trained(tmp_path / "runs")


def test_no_dp_with_one_partners_budget_is_refused_too(tiny_csv: Path, tmp_path: Path) -> None:
    proc = _simulate(tiny_csv, tmp_path / "runs", "--no-dp", "--budgets", "partner-0=3")

    assert proc.returncode == 1
    assert "partner-0" in " ".join(proc.stderr.split())
    assert _nothing_trained(tmp_path / "runs")
