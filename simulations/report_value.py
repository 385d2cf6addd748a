"""The value-of-federation part of a run's report: ``partners`` in ``report.json``, a chart and a
table in ``report.html`` (see ``simulations.value_of_federation``)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from simulations.value_of_federation import FORECASTERS, VALUE_METRICS, Table, goal_misses

VALUE_PLOT = "value_of_federation.png"
SMALL_SHARE = 0.2  # the goal is for partners holding at most this share of customers


def partners_section(partners: dict[str, int], value: dict[str, Table]) -> dict[str, Any]:
    """``{partner: {"customers", "share", "value_of_federation"?}}``."""
    total = sum(partners.values()) or 1
    out: dict[str, Any] = {}
    for name, size in partners.items():
        entry: dict[str, Any] = {"customers": size, "share": size / total}
        if name in value:
            entry["value_of_federation"] = value[name]
        out[name] = entry
    return out


def plot_value(section: dict[str, Any], path: Path) -> bool:
    """One chart: holdout AUC per partner for each forecaster, partners by size; False (and no
    file) when no partner has the measurement."""
    names = [n for n in sorted(section) if "value_of_federation" in section[n]]
    if not names:
        return False
    names.sort(key=lambda n: section[n]["customers"])
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(names) + 2), 3.8))
    xs = np.arange(len(names))
    width = 0.8 / len(FORECASTERS)
    aucs: list[float] = []
    for i, forecaster in enumerate(FORECASTERS):
        ys = [
            section[n]["value_of_federation"].get(forecaster, {}).get("auc_any_repeat", np.nan)
            for n in names
        ]
        aucs.extend(y for y in ys if np.isfinite(y))
        ax.bar(xs + (i - 1) * width, ys, width, label=forecaster.replace("_", "-"))
    labels = [f"{n}\n{100 * section[n]['share']:.0f}% of customers" for n in names]
    ax.set_xticks(xs, labels, fontsize=8)
    if aucs:
        ax.set_ylim(max(0.0, min(aucs) - 0.05), min(1.0, max(aucs) + 0.03))
    ax.set_ylabel("holdout AUC (any repeat purchase)")
    ax.set_title("Value of federation: each partner's own holdout customers")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def value_html(section: dict[str, Any], plotted: bool) -> str:
    """The chart, the table and the goal's verdict (or why there is nothing to show)."""
    rows = []
    table: dict[str, Table] = {}
    for name in sorted(section):
        value = section[name].get("value_of_federation")
        if not value:
            continue
        table[name] = value
        for forecaster in FORECASTERS:
            metrics = value.get(forecaster, {})
            cells = "".join(
                f"<td>{metrics[k]:.4f}</td>" if k in metrics else "<td>n/a</td>"
                for k in VALUE_METRICS
            )
            rows.append(
                f"<tr><th>{html.escape(name)}</th><td>{html.escape(forecaster)}</td>{cells}</tr>"
            )
    if not table:
        return "<p>Not measured in this run (no final model, or the measurement was skipped).</p>"
    shares = {n: float(section[n]["share"]) for n in section}
    misses = goal_misses(table, shares, max_share=SMALL_SHARE)
    small = [n for n in table if shares[n] <= SMALL_SHARE]
    if not small:
        verdict = f"No partner holds {SMALL_SHARE:.0%} of the customers or fewer."
    elif misses:
        verdict = (
            f"Federated AUC is below local-only AUC for {html.escape(', '.join(misses))} "
            f"(partners with at most {SMALL_SHARE:.0%} of the customers)."
        )
    else:
        verdict = (
            f"Federated AUC is at or above local-only AUC for every partner with at most "
            f"{SMALL_SHARE:.0%} of the customers ({html.escape(', '.join(sorted(small)))})."
        )
    head = "".join(f"<th>{k}</th>" for k in VALUE_METRICS)
    image = f'<img src="{VALUE_PLOT}" alt="value of federation per partner">' if plotted else ""
    return (
        "<p>Each partner's own holdout customers, scored by the federated model, by the same "
        "model trained by the partner alone (same initial weights, rounds, epochs and DP "
        "noise), and by BG/NBD fitted on the partner's data alone. "
        f"{verdict}</p>{image}"
        f"<table><tr><th>partner</th><th>model</th>{head}</tr>{''.join(rows)}</table>"
    )
