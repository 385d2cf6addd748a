"""The partner's insight report, ``insights/report.html``: its own, and it never leaves the node.

It shows segment sizes and each segment's share of expected value; mean P(alive) by recency x
frequency; the decile calibration of predicted against actual purchases and the cumulative gain
curve with the normalised Gini on the latest window with known outcomes
(``insight.scoring.validation``); the global drivers; and the at-risk, high-value customers by
the partner's own ``customer_id``. The plots are PNG files beside the page; the page loads
nothing from anywhere else, so it works offline.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from client_node.insight_plots import (
    alive_matrix,
    plot_alive_matrix,
    plot_calibration,
    plot_drivers,
    plot_gain,
    plot_segments,
)
from insight import replace_atomically
from insight.scoring.validation import ValidationWindow, normalized_gini

logger = logging.getLogger(__name__)

HTML_FILE = "report.html"
AT_RISK_SHOWN = 25
HIGH_VALUE_SHARE = 0.2
PLOTS = {
    "segments": "segments.png",
    "alive": "p_alive_matrix.png",
    "calibration": "calibration.png",
    "gain": "gain.png",
    "drivers": "drivers.png",
}


@dataclass(frozen=True)
class InsightInputs:
    """``table``: the score table with the partner's own ids; ``history``: the
    ``insight.scoring.customer_history`` of the same customers, in the same order."""

    table: pd.DataFrame
    history: pd.DataFrame
    window: ValidationWindow | None
    importance: dict[str, float] | None
    summary: dict[str, Any]  # the scores' report.json: run, as_of, horizon, notes


def at_risk_high_value(inputs: InsightInputs, limit: int = AT_RISK_SHOWN) -> pd.DataFrame:
    """The partner's most valuable customers that are slipping away, at most ``limit``.

    At risk: segment ``at risk`` or ``hibernating``, churn risk ``high``, or a ``p_alive`` in the
    lowest `HIGH_VALUE_SHARE` of the partner's customers (a relative test, for a model whose
    ``p_alive`` varies little). High value: past value (spend; purchase days for a log without
    amounts) in the top `HIGH_VALUE_SHARE` of the partner's customers. Most valuable first.
    """
    table, history = inputs.table, inputs.history
    by = "past_spend" if "clv" in table else "purchase_days"
    past = history[by].to_numpy(np.float64)
    high = past >= np.quantile(past, 1 - HIGH_VALUE_SHARE) if past.size else past > 0
    segment = table["segment"].to_numpy()
    p_alive = table["p_alive"].to_numpy(np.float64)
    low_alive = p_alive < np.quantile(p_alive, HIGH_VALUE_SHARE) if p_alive.size else p_alive < 0
    risky = (
        np.isin(segment, ["at risk", "hibernating"])
        | (table["churn_risk"].to_numpy() == "high")
        | low_alive
    )
    view = pd.DataFrame(
        {
            "customer_id": table["customer_id"].to_numpy(),
            "segment": segment,
            "churn_risk": table["churn_risk"].to_numpy(),
            "p_alive": table["p_alive"].to_numpy(),
            "purchase_days": history["purchase_days"].to_numpy(),
            "weeks_since_last": history["recency_weeks"].to_numpy(),
            "past_spend": history["past_spend"].to_numpy(),
            "expected_purchases": table["expected_purchases"].to_numpy(),
        }
    )
    if "clv" in table:
        view["clv"] = table["clv"].to_numpy()
    else:
        view = view.drop(columns="past_spend")
    view = view[risky & high].sort_values(
        [by, "p_alive", "customer_id"], ascending=[False, True, True], kind="stable"
    )
    shown: pd.DataFrame = view.head(limit).reset_index(drop=True)
    return shown


def write_insight_report(inputs: InsightInputs, out_dir: Path) -> Path:
    """Write the PNG plots and ``report.html`` into ``out_dir``; return the page's path."""
    table = inputs.table
    value = "clv" if "clv" in table else "expected_purchases"
    grouped = table.groupby("segment")[value].agg(["size", "sum"])
    segments = pd.DataFrame(
        {"customers": grouped["size"], "value_share": grouped["sum"] / (grouped["sum"].sum() or 1)}
    ).sort_values("customers", ascending=False)
    plot_segments(segments, value, out_dir / PLOTS["segments"])
    matrix = alive_matrix(inputs.history, table["p_alive"].to_numpy(np.float64))
    plot_alive_matrix(matrix, out_dir / PLOTS["alive"])
    sections = [
        _segments_html(segments, value),
        "<h2>P(alive) by recency and frequency</h2>"
        f'<img src="{PLOTS["alive"]}" alt="mean P(alive) by recency and frequency">',
        _validation_html(inputs.window, out_dir),
        _drivers_html(inputs.importance, out_dir),
        _at_risk_html(at_risk_high_value(inputs)),
    ]
    page = _page(inputs.summary, "\n".join(sections))
    path = out_dir / HTML_FILE
    with replace_atomically(path) as fh:
        fh.write(page.encode())
    logger.info("wrote the partner's insight report")
    return path


def _segments_html(segments: pd.DataFrame, value: str) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(name))}</th><td>{int(r['customers'])}</td>"
        f"<td>{100 * r['value_share']:.1f}%</td></tr>"
        for name, r in segments.iterrows()
    )
    return (
        f"<h2>Segments</h2><table><tr><th>segment</th><th>customers</th><th>share of "
        f"{html.escape(value)}</th></tr>{rows}</table>"
        f'<img src="{PLOTS["segments"]}" alt="segment sizes and share of value">'
    )


def _validation_html(window: ValidationWindow | None, out_dir: Path) -> str:
    head = "<h2>How the forecasts held up</h2>"
    if window is None or not window.actual.sum() > 0:
        return head + "<p>No window with known outcomes: the events are too short to check.</p>"
    table = plot_calibration(window, out_dir / PLOTS["calibration"])
    gini = normalized_gini(window.predicted, window.actual)
    plot_gain(window, gini, out_dir / PLOTS["gain"])
    how = (
        "the scores in the table"
        if window.forward
        else f"the customers scored again as of {window.start.date()}"
    )
    rows = "".join(
        f"<tr><th>{d}</th><td>{int(r['customers'])}</td><td>{r['predicted']:.3f}</td>"
        f"<td>{r['actual']:.3f}</td></tr>"
        for d, r in table.iterrows()
    )
    return (
        f"{head}<p>Window {window.start.date()} (exclusive) to {window.end.date()}: {how}, "
        f"against the purchase days each customer had in it ({window.actual.size} customers). "
        f"Normalised Gini of expected purchases: <b>{gini:.3f}</b>.</p>"
        f'<img src="{PLOTS["calibration"]}" alt="decile calibration">'
        f'<img src="{PLOTS["gain"]}" alt="cumulative gain curve">'
        "<table><tr><th>decile</th><th>customers</th><th>predicted</th><th>actual</th></tr>"
        f"{rows}</table>"
    )


def _drivers_html(importance: dict[str, float] | None, out_dir: Path) -> str:
    head = "<h2>Global drivers</h2>"
    if not importance:
        return head + "<p>Explanations were not computed for these scores.</p>"
    plot_drivers(importance, out_dir / PLOTS["drivers"])
    return (
        f"{head}<p>Mean absolute Integrated Gradients attribution of expected purchases per "
        "feature group, over this partner's customers. Computed here, on a model trained with "
        "differential privacy, it spends no privacy budget.</p>"
        f'<img src="{PLOTS["drivers"]}" alt="global drivers">'
    )


def _at_risk_html(view: pd.DataFrame) -> str:
    head = "<h2>At-risk, high-value customers</h2>"
    if view.empty:
        return head + "<p>No high-value customer is at risk.</p>"
    cols = "".join(f"<th>{html.escape(c)}</th>" for c in view.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
        for row in view.itertuples(index=False)
    )
    return (
        f"{head}<p>Segment <i>at risk</i> or <i>hibernating</i>, churn risk <i>high</i>, or "
        f"P(alive) in this partner's lowest {HIGH_VALUE_SHARE:.0%}; among the top "
        f"{HIGH_VALUE_SHARE:.0%} by past value; the most valuable first (at most "
        f"{AT_RISK_SHOWN}).</p><table><tr>{cols}</tr>{body}</table>"
    )


def _cell(value: object) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.3f}"
    return html.escape(str(value))


def _page(summary: dict[str, Any], body: str) -> str:
    notes = "".join(f"<li>{html.escape(str(n))}</li>" for n in summary.get("notes", []))
    title = f"Customer insight, run {html.escape(str(summary.get('run', '')))}"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse;margin:0.5em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}img{{max-width:100%}}</style>
</head><body>
<h1>{title}</h1>
<p>{summary.get("customers", 0)} customers scored as of {html.escape(str(summary.get("as_of")))},
horizon {float(summary.get("horizon_weeks", 0)):.1f} weeks. This page and its pictures are this
partner's own: they stay on this node.</p>
{f"<ul>{notes}</ul>" if notes else ""}
{body}
</body></html>
"""
