"""`fedinsight simulate` end to end: real Flower processes, a tiny dataset, a full run directory."""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from privacy.canaries import CANARY_PREFIX

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
METRICS = {"auc_any_repeat", "corr_purchases", "mae_purchases", "mae_spend"}


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


def _tiny_args(data: Path, *, rounds: int = 1) -> list[str]:
    return [
        "--dataset", "csv", "--data", str(data),
        "--calibration-start", "1997-01-01", "--calibration-end", "1997-09-30",
        "--holdout-end", "1998-06-30", "--partners", "2", "--split", "iid", "--rounds", str(rounds),
        "--local-epochs", "1", "--min-customers", "10",
        "--partners-at-once", "1",  # one Ray actor: its start-up outweighs tiny partners' work
    ]  # fmt: skip


def _fedinsight(args: list[str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION="1"),
        cwd=ROOT,
    )


def _simulate(args: list[str], out: Path) -> tuple[Path, dict[str, Any], str]:
    """Run ``fedinsight simulate``; return its run directory, report and output."""
    proc = _fedinsight(["simulate", *args, "--out", str(out)])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (run_dir,) = [d for d in out.iterdir() if d.name != "keys"]
    report = json.loads((run_dir / "report.json").read_text())
    return run_dir, report, proc.stdout + proc.stderr


def _processes_mentioning(text: str) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if text in line and "ps -eo" not in line]


@pytest.fixture(scope="module")
def plain_run(
    tiny_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any], str]:
    """One round, the default terms, and the gradient privacy audit (100 canaries in the
    partners' DP steps, scored apart from training): one run for two tests."""
    out = tmp_path_factory.mktemp("plain") / "runs"
    return _simulate([*_tiny_args(tiny_csv), "--privacy-audit", "--canaries", "100"], out)


def test_simulate_writes_a_complete_run_directory_and_leaves_nothing_running(
    plain_run: tuple[Path, dict[str, Any], str],
) -> None:
    run_dir, report, output = plain_run
    for name in ("config.toml", "model.pt", "model.pt.sha256", "report.html", "report.json"):
        assert (run_dir / name).is_file(), name
    digest = hashlib.sha256((run_dir / "model.pt").read_bytes()).hexdigest()
    assert (run_dir / "model.pt.sha256").read_text().split()[0] == digest
    assert report["dataset"] == "csv"
    assert report["rounds"] == 1
    assert sorted(report["partners"]) == ["partner-0", "partner-1"]
    for partner in report["partners"].values():
        value = partner["value_of_federation"]
        assert set(value) == {"federated", "local_only", "bgnbd_local"}
        assert all(set(m) >= METRICS - {"mae_spend"} for m in value.values())
    assert '<img src="value_of_federation.png"' in (run_dir / "report.html").read_text()
    assert set(report["metrics"]) == {"federated", "centralized", "bgnbd", "naive"}
    for metrics in report["metrics"].values():
        assert set(metrics) >= METRICS
    assert report["model_sha256"] == digest
    assert report["per_round"][0]["participants"] == ["partner-0", "partner-1"]
    assert "Holdout metrics" in output
    assert _processes_mentioning(str(run_dir)) == []
    # --partners-at-once 1: Ray started one actor, and both partners' work ran in it.
    flower_log = (run_dir / "flower.log").read_text()
    trained_in = re.findall(
        r"ClientAppActor pid=(\d+)\S* INFO client_node.timing: train", flower_log
    )
    assert len(trained_in) == 2 and len(set(trained_in)) == 1
    assert report["audit"]["verified"] is True
    for partner in report["privacy"]["partners"].values():  # from each partner's ledger
        assert partner["evaluations_charged"] >= 1 and partner["epsilon_evaluation"] > 0
        assert partner["epsilon_total"] > partner["epsilon_training"] > 0

    # Each partner's pseudonymization key is in a keys folder apart from its home.
    homes = run_dir / "partner-homes"
    assert list(homes.glob("partner-*/**/pseudonym.key")) == []
    assert sorted(p.parent.name for p in homes.glob("keys/*/pseudonym.key")) == [
        "partner-0", "partner-1",
    ]  # fmt: skip

    # The partner proves, against the audit log, which customers its round-1 update came from.
    home = run_dir / "partner-homes" / "partner-0"
    (flower_run,) = [d.name for d in (home / "commitments").iterdir()]
    mine = str(pd.read_parquet(home / "raw.parquet")["customer_id"].iloc[0])
    theirs = run_dir / "partner-homes" / "partner-1" / "raw.parquet"
    other = str(pd.read_parquet(theirs)["customer_id"].iloc[0])
    for customer, verdict in ((mine, "WAS in"), (other, "was NOT in")):
        prove = _fedinsight(
            ["node", "prove", customer, "--state-dir", str(home), "--run-id", flower_run,
             "--round", "1", "--run-dir", str(run_dir)],
            timeout=120,
        )  # fmt: skip
        assert prove.returncode == 0, prove.stderr
        assert verdict in prove.stdout
        assert "matches the audit log" in prove.stdout


def test_gradient_audit_bound_at_or_below_the_claim_and_nothing_in_the_data(
    plain_run: tuple[Path, dict[str, Any], str],
) -> None:
    run_dir, report, output = plain_run
    audit = report["privacy"]["audit"]
    assert audit["kind"] == "gradient" and "gradient canaries" in audit["method"]
    assert audit["canaries"] == 100
    assert 0 <= audit["epsilon_lower_bound"] <= audit["claimed_epsilon"]
    assert "privacy audit (100 canaries)" in output
    # Each partner scored its own 50 canaries in the round it trained, at home.
    for home in sorted(run_dir.glob("partner-homes/partner-*")):
        scores = json.loads((home / "audit" / "gradient-canary-scores.json").read_text())
        assert list(scores["rounds"]) == ["1"] and len(scores["rounds"]["1"]) == 50
        raw = pd.read_parquet(home / "raw.parquet")
        assert not raw["customer_id"].astype(str).str.startswith(CANARY_PREFIX).any()


def test_simulate_reports_bad_input_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"customer_id,timestamp,quantity,amount\n1,1997-01-01,1,5\n2,not-a-date,1,5\n")
    proc = _fedinsight(["simulate", *_tiny_args(bad), "--out", str(tmp_path / "runs")], 120)
    assert proc.returncode == 1
    assert "line 3" in proc.stderr and "timestamp" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []


def _identifiers(raw_files: list[Path]) -> set[str]:
    found: set[str] = set()
    for path in raw_files:
        frame = pd.read_parquet(path)
        for column in ("customer_id", "name", "email", "phone"):
            found.update(str(v) for v in frame[column].dropna().unique())
    return {v for v in found if len(v) >= 6}


@pytest.fixture(scope="module")
def pii_budget_run(
    tiny_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any], str]:
    """One run shared by two tests (each simulation starts a federation): customers with
    identities, pseudonymized at home; partner-0's budget (2.9) below the run's per-partner
    target (3), so it refuses."""
    work = tmp_path_factory.mktemp("pii-budget")
    pii_csv = work / "pii.csv"
    frame = pd.read_csv(tiny_csv, dtype={"customer_id": str})
    frame["customer_id"] = "cust-" + frame["customer_id"]
    frame.to_csv(pii_csv, index=False)
    args = [
        "--pii", *_tiny_args(pii_csv, rounds=3), "--target-epsilon", "3", "--epsilon-budget", "3",
        "--budgets", "partner-0=2.9",
    ]  # fmt: skip
    return _simulate(args, work / "runs")


def test_no_raw_identifier_reaches_anything_outside_the_partners_homes(
    pii_budget_run: tuple[Path, dict[str, Any], str],
) -> None:
    """No leak: logs, models, reports, the audit store, the SuperLink's message store."""
    run_dir, _, output = pii_budget_run
    homes = run_dir / "partner-homes"
    identifiers = _identifiers(sorted(homes.glob("*/raw.parquet")))
    assert len(identifiers) > 400  # ids, names, emails and phones of ~360 customers
    scanned, leaks = 0, []
    for path in run_dir.rglob("*"):
        if not path.is_file() or homes in path.parents:
            continue
        data = path.read_bytes()
        scanned += 1
        leaks += [f"{path.relative_to(run_dir)}: {v!r}" for v in identifiers if v.encode() in data]
    leaks += [f"output: {v!r}" for v in identifiers if v in output]
    assert scanned >= 8
    assert leaks == []

    # Every partner scored its own customers at home; no score and no scored customer id is in
    # anything the coordinator holds (the run directory outside the partners' homes).
    outside = [p for p in run_dir.rglob("*") if p.is_file() and homes not in p.parents]
    assert not [p for p in outside if p.name.startswith("scores")]
    blobs = [p.read_bytes() for p in outside]
    for home in sorted(homes.glob("partner-*")):
        scores = pd.read_parquet(home / "insights" / "scores.parquet")
        assert len(scores) > 50
        assert (home / "insights" / "report.html").is_file()
        values = [f"{v!r}".encode() for v in scores["expected_purchases"].head(50)]
        values += [struct.pack("<d", v) for v in scores["p_alive"].head(50)]
        values += [str(v).encode() for v in scores["customer_id"]]
        found = [
            v for v in values if any(v in blob for blob in blobs) or v.decode("latin-1") in output
        ]
        assert found == [], home.name


def test_a_partner_out_of_budget_refuses_and_is_no_longer_selected(
    pii_budget_run: tuple[Path, dict[str, Any], str],
) -> None:
    _, report, _ = pii_budget_run
    p0 = report["privacy"]["partners"]["partner-0"]
    p1 = report["privacy"]["partners"]["partner-1"]
    assert p0["refused_rounds"] == 1  # refused once, then no longer selected
    assert p0["rounds_trained"] < 3
    assert p0.get("epsilon", 0.0) <= 2.9
    assert p1["rounds_trained"] == 3 and p1["refused_rounds"] == 0
    assert p1["epsilon"] <= 3.0
    assert report["audit"]["verified"] is True
    assert any("partner-0" not in r["participants"] for r in report["per_round"])


def test_the_run_ends_cleanly_when_no_partner_has_budget(tiny_csv: Path, tmp_path: Path) -> None:
    run_dir, report, output = _simulate(
        [
            *_tiny_args(tiny_csv, rounds=2),
            "--target-epsilon",
            "3",
            "--epsilon-budget",
            "0.5",
            "--no-value-of-federation",
            "--no-explain",
        ],
        tmp_path / "runs",
    )
    assert report["stopped_early"].startswith("every partner refused: partner-0 refused (")
    assert all(p["rounds_trained"] == 0 for p in report["privacy"]["partners"].values())
    assert report["audit"]["verified"] is True
    # No round trained: no model file passes for a result, and the report says so.
    assert not (run_dir / "model.pt").exists()
    assert report["model_sha256"] == "" and "federated" not in report["metrics"]
    assert "no round trained" in " ".join(output.split())


def test_central_dp_releases_only_rounds_every_sampled_partner_joined(
    tiny_csv: Path, tmp_path: Path
) -> None:
    """A partner that drops out of a round (here: refuses, out of budget) must not void the
    partner-level accounting: that round's average is not released and spends nothing."""
    from privacy import epsilon_for

    _, report, _ = _simulate(
        [*_tiny_args(tiny_csv, rounds=2), "--budgets", "partner-0=2.9", "--central-dp",
         "--central-noise-multiplier", "1.5", "--central-clipping-norm", "0.5",
         "--no-value-of-federation", "--no-explain"],
        tmp_path / "runs",
    )  # fmt: skip
    central = report["privacy"]["central"]
    # Round 1: partner-0 refused, nothing released; round 2 sampled partner-1 alone: released.
    assert central["releases"] == 1
    expected = epsilon_for([(1.5, 1.0, 1)], target_delta=1e-5, accountant="rdp")
    assert central["epsilon"] == pytest.approx(expected)
    assert report["audit"]["verified"] is True
    # Round 1 released nothing, yet partner-0's refusal there is in the privacy table.
    assert report["privacy"]["partners"]["partner-0"]["refused_rounds"] == 1
    assert report["privacy"]["partners"]["partner-0"]["rounds_trained"] == 0


def test_a_visit_log_without_amounts_runs_end_to_end_and_every_partner_scores(
    tiny_csv: Path, tmp_path: Path
) -> None:
    visits = tmp_path / "visits.csv"
    pd.read_csv(tiny_csv, dtype={"customer_id": str})[["customer_id", "timestamp"]].to_csv(
        visits, index=False
    )
    run_dir, report, _ = _simulate(_tiny_args(visits), tmp_path / "runs")
    digest = report["model_sha256"]
    kept = json.loads((run_dir / "homecoming.json").read_text())
    assert kept == {"partner-0": f"kept {digest}", "partner-1": f"kept {digest}"}
    for name in ("partner-0", "partner-1"):
        home = run_dir / "partner-homes" / name
        model = home / "models" / f"{run_dir.name}.pt"
        assert hashlib.sha256(model.read_bytes()).hexdigest() == digest
        assert (home / "models" / f"{run_dir.name}.manifest.json").is_file()
        scores = pd.read_parquet(home / "insights" / "scores.parquet")
        raw_ids = set(pd.read_parquet(home / "raw.parquet")["customer_id"].astype(str))
        assert set(scores["customer_id"]) <= raw_ids and len(scores) > 100
        assert "clv" not in scores.columns and scores["top_drivers"].str.len().gt(0).all()
        insight = json.loads((home / "insights" / "report.json").read_text())
        assert insight["horizon_weeks"] == pytest.approx(39.0)
        assert insight["as_of"] == "1997-09-30"
        assert any("no amounts" in note for note in insight["notes"])
