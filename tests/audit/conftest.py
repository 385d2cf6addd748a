"""One real simulated run shared by the officer's page tests and the attack tests.

A simulation starts a whole federation (a SuperLink, Ray, a ClientApp per partner), so both
files read the same run: three partners, two rounds, partner-0's budget (0.5) below the run's
target, so it refuses round 1 and trains nothing. Tests that alter the run work on a copy.

Under pytest-xdist (``make test``) the two files may run on different workers: the first worker
to ask builds the run in the session's shared temporary folder under a lock, and the other
reads it when the lock is released (pytest-xdist's recipe for a session fixture made once).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _build(work: Path) -> Path:
    from insight.datasets import load_cdnow

    events = load_cdnow().events
    tiny = events[events["customer_id"].isin(sorted(events["customer_id"].unique())[:400])].copy()
    tiny["timestamp"] = tiny["timestamp"].dt.strftime("%Y-%m-%d")
    tiny[["customer_id", "timestamp", "quantity", "amount"]].to_csv(work / "tiny.csv", index=False)
    args = [
        "--dataset", "csv", "--data", str(work / "tiny.csv"),
        "--calibration-start", "1997-01-01", "--calibration-end", "1997-09-30",
        "--holdout-end", "1998-06-30",
        "--partners", "3", "--split", "iid", "--rounds", "2", "--local-epochs", "1",
        "--min-customers", "10", "--budgets", "partner-0=0.5", "--out", str(work / "runs"),
        "--partners-at-once", "1",
        "--no-value-of-federation", "--no-explain",  # the audit tests read the log, not these
    ]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "simulate", *args],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
        env=dict(os.environ, FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION="1"),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (run_dir,) = [d for d in (work / "runs").iterdir() if d.name != "keys"]
    return run_dir


@pytest.fixture(scope="session")
def simulated_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the folder every worker of this session shares
    work = base / "audit-simulated-run"
    with (base / "audit-simulated-run.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        made = work / "run-dir.txt"
        if not made.exists():
            shutil.rmtree(work, ignore_errors=True)  # what a failed build on another worker left
            work.mkdir()
            made.write_text(str(_build(work)))
        return Path(made.read_text())
