"""How the partners' scores of a CDNOW simulation held up on CDNOW's real holdout.

``python -m simulations.check_scores RUN_DIR`` joins every ``partner-homes/*/insights/
scores.parquet`` of a finished ``fedinsight simulate`` run on CDNOW (``make demo``) to the
holdout purchases of the bundled CDNOW file, by the partners' own customer ids, and prints the
figures issue 14 asks for, with a reliability table:

- the share of customers whose holdout purchase days fall in
  ``[expected_purchases_p10, expected_purchases_p90]``;
- the calibration error of ``p_purchase`` over 10 equal-width bins (the customers' weighted mean
  of |mean predicted - share that bought| per bin);
- the AUC of ``p_purchase`` for any holdout purchase, beside the federated AUC of the run's
  ``report.json`` (computed there on the customers the partners scored and trained on).

Scored ids that are not CDNOW customers (the canary customers of ``--privacy-audit``) are left
out, and their number is printed.

A purchase is a purchase day, as the model counts them. This is a researcher's check on a
simulation, where every partner's data and the holdout sit on one machine; a deployed partner
has no holdout and sees only its own figures (``insights/report.html``).
"""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insight.datasets import load_cdnow
from insight.metrics import roc_auc


def holdout_purchase_days(events: pd.DataFrame, start: str, end: str) -> pd.Series:
    """Purchase days per customer in ``(start, end]`` (days as ``YYYY-MM-DD``)."""
    day = events["timestamp"].dt.normalize()
    inside = events[(day > pd.Timestamp(start)) & (day <= pd.Timestamp(end))]
    days: pd.Series = inside.assign(day=day).groupby("customer_id")["day"].nunique()
    return days


def calibration(
    p: np.ndarray, bought: np.ndarray, bins: int = 10
) -> tuple[float, list[dict[str, Any]]]:
    """The weighted calibration error over ``bins`` equal-width bins of ``p``, and each
    non-empty bin (its row indexes under ``rows``)."""
    which = np.minimum((p * bins).astype(int), bins - 1)
    rows, error = [], 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            predicted, actual = float(p[inside].mean()), float(bought[inside].mean())
            error += inside.sum() * abs(predicted - actual)
            rows.append(
                {"bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}", "customers": int(inside.sum()),
                 "predicted": round(predicted, 4), "bought": round(actual, 4),
                 "rows": np.flatnonzero(inside)}
            )  # fmt: skip
    return error / len(p), rows


def check(run_dir: Path) -> dict[str, Any]:
    """The figures of the module doc for ``run_dir``.

    Raises:
        SystemExit: the run is not a finished CDNOW simulation with partner scores.
    """
    config = tomllib.loads((run_dir / "config.toml").read_text())["tool"]["flwr"]["app"]["config"]
    if config.get("dataset") != "cdnow":
        raise SystemExit(f"{run_dir}: a run on {config.get('dataset')!r}, not on CDNOW")
    files = sorted(run_dir.glob("partner-homes/*/insights/scores.parquet"))
    if not files:
        raise SystemExit(f"{run_dir}: no partner-homes/*/insights/scores.parquet")
    scores = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    events = load_cdnow().events
    known = scores["customer_id"].isin(set(events["customer_id"]))
    scores = scores[known].reset_index(drop=True)
    days = holdout_purchase_days(events, config["calibration-end"], config["holdout-end"])
    actual = scores["customer_id"].map(days).fillna(0).to_numpy(np.float64)
    bought = (actual > 0).astype(np.float64)
    p = scores["p_purchase"].to_numpy(np.float64)
    low, high = scores["expected_purchases_p10"], scores["expected_purchases_p90"]
    error, rows = calibration(p, bought)
    expected = scores["expected_purchases"].to_numpy(np.float64)
    for row in rows:  # the count forecast beside it: mean expected against actual purchase days
        inside = row.pop("rows")
        row["expected_purchases"] = round(float(expected[inside].mean()), 3)
        row["purchase_days"] = round(float(actual[inside].mean()), 3)
    report = json.loads((run_dir / "report.json").read_text())
    federated = report["metrics"]["federated"]
    return {
        "customers": len(scores),
        "not_in_cdnow": int((~known).sum()),
        "interval_coverage": float(((actual >= low) & (actual <= high)).mean()),
        "p_purchase_calibration_error": error,
        "p_purchase_auc": roc_auc(p, bought),
        "report_federated_auc": federated["auc_any_repeat"],
        "report_customers": int(federated["n_customers"]),
        "bins": rows,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a finished fedinsight simulate run on CDNOW")
    figures = check(parser.parse_args(argv).run_dir)
    print(
        f"customers scored: {figures['customers']:,} "
        f"({figures['not_in_cdnow']:,} ids not in CDNOW left out)"
    )
    print(f"holdout purchases inside [p10, p90]: {figures['interval_coverage']:.3f}")
    print(f"p_purchase calibration error (10 bins): {figures['p_purchase_calibration_error']:.4f}")
    print(
        f"p_purchase AUC {figures['p_purchase_auc']:.4f}; report.json federated AUC "
        f"{figures['report_federated_auc']:.4f} on {figures['report_customers']:,} customers"
    )
    for row in figures["bins"]:
        print(f"  {row['bin']}: {row['customers']:>6,} customers, predicted "
              f"{row['predicted']:.3f}, bought {row['bought']:.3f}; expected purchases "
              f"{row['expected_purchases']:.2f}, actual {row['purchase_days']:.2f}")  # fmt: skip
    print(json.dumps({k: v for k, v in figures.items() if k != "bins"}))


if __name__ == "__main__":
    main()
