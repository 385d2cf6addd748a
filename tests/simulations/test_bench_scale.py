"""`fedinsight bench scale --json`: a tiny federation end to end, the figures on the last line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_scale_ends_with_one_json_line_of_the_runs_figures(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "bench", "scale", "--json", "--customers", "2000",
         "--partners", "4", "--rounds", "1", "--work", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ, FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION="1"),
        cwd=ROOT,
    )  # fmt: skip

    assert proc.returncode == 0, proc.stderr[-2000:]
    (run,) = json.loads(proc.stdout.strip().splitlines()[-1])["runs"]
    assert (run["customers"], run["partners"], run["partners_kept"]) == (2000, 4, 4)
    assert run["wall_s"] > 0 and run["peak_rss_gib"] > 0.1  # Ray's actors included
    assert 0.1 < run["peak_rss_command_gib"] < run["peak_rss_gib"]
    assert 0.1 < run["peak_rss_partners_gib"] < run["peak_rss_gib"]  # the actors were found
    assert len(run["round_s"]) == 1 and 0 < run["round_s"][0] <= run["federated_s"]
    assert run["seconds_per_customer"] == pytest.approx(run["wall_s"] / 2000, rel=0.01)
    assert run["audit_log_bytes"] > 0 and run["ledger_bytes"] > 0
    assert run["partner_ledgers_bytes"] > 0
    report = json.loads((Path(run["run_dir"]) / "report.json").read_text())
    assert run["timing"]["federated_seconds"] == pytest.approx(
        report["timing"]["federated_seconds"], abs=0.1
    )
    # Left out unless asked for: every partner alone, and Captum's drivers.
    assert (run["value_of_federation"], run["explain"]) == (False, False)
    assert report["timing"]["value_of_federation_seconds"] is None
    scores = sorted(Path(run["run_dir"]).glob("partner-homes/*/insights/scores.parquet"))
    assert len(scores) == 4
    assert "top_drivers" not in pd.read_parquet(scores[0]).columns
    assert "p_purchase" in pd.read_parquet(scores[0]).columns
