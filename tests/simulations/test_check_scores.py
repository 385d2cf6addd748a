"""simulations/check_scores.py: partner scores of a CDNOW run against CDNOW's real holdout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.datasets import load_cdnow
from simulations.check_scores import calibration, check, holdout_purchase_days

CONFIG = """[tool.flwr.app.config]
dataset = "{dataset}"
calibration-end = "1997-09-30"
holdout-end = "1998-06-30"
"""


def test_calibration_weighs_each_bin_by_its_customers() -> None:
    p = np.array([0.15, 0.15, 0.15, 0.15, 0.85])
    bought = np.array([0.0, 0.0, 1.0, 1.0, 1.0])

    error, rows = calibration(p, bought)

    # bin 0.1-0.2: predicted 0.15, half bought (|0.35| x 4); bin 0.8-0.9: |0.15| x 1
    assert error == pytest.approx((4 * 0.35 + 0.15) / 5)
    assert [(r["bin"], r["customers"]) for r in rows] == [("0.1-0.2", 4), ("0.8-0.9", 1)]
    assert [list(r["rows"]) for r in rows] == [[0, 1, 2, 3], [4]]


def _idle_customer(days: pd.Series) -> str:
    """A CDNOW customer without a holdout purchase."""
    everyone = load_cdnow().events["customer_id"].unique()
    return str(next(c for c in everyone if c not in days.index))


def _run(tmp_path: Path, dataset: str = "cdnow") -> Path:
    days = holdout_purchase_days(load_cdnow().events, "1997-09-30", "1998-06-30")
    buyers, idle = list(days.index[:3]), [_idle_customer(days)]
    run = tmp_path / "run"
    home = run / "partner-homes" / "partner-0" / "insights"
    home.mkdir(parents=True)
    (run / "config.toml").write_text(CONFIG.format(dataset=dataset))
    report = {"metrics": {"federated": {"auc_any_repeat": 0.5, "n_customers": 4}}}
    (run / "report.json").write_text(json.dumps(report))
    pd.DataFrame(
        {
            "customer_id": [*buyers, *idle, "canary-0"],
            "p_purchase": [0.95, 0.95, 0.95, 0.05, 0.5],
            "expected_purchases": [3.0, 3.0, 3.0, 1.5, 1.0],
            "expected_purchases_p10": [0.0, 0.0, 0.0, 1.0, 0.0],
            "expected_purchases_p90": [100.0, 100.0, 0.0, 2.0, 9.0],
        }
    ).to_parquet(home / "scores.parquet")
    return run


def test_check_joins_the_scores_to_the_real_holdout(tmp_path: Path) -> None:
    run = _run(tmp_path)

    figures = check(run)

    assert figures["customers"] == 4 and figures["not_in_cdnow"] == 1
    # two buyers inside [0, 100]; a buyer above [0, 0]; the idle customer (0) below [1, 2]
    assert figures["interval_coverage"] == 0.5
    assert figures["p_purchase_auc"] == 1.0
    assert figures["p_purchase_calibration_error"] == pytest.approx(0.05)


def test_a_run_on_another_dataset_is_refused(tmp_path: Path) -> None:
    run = _run(tmp_path, dataset="synthetic")

    with pytest.raises(SystemExit, match="not on CDNOW"):
        check(run)
