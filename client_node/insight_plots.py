"""The PNG plots of a partner's insight report (matplotlib, Agg: no display, no network)."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from insight.scoring.validation import ValidationWindow, decile_calibration, gain_curve

# Bins of the P(alive) matrix: weeks since the last purchase, and purchase days.
RECENCY_EDGES = (0.0, 4.0, 8.0, 13.0, 26.0, 39.0, 52.0, np.inf)
FREQUENCY_EDGES = (1, 2, 3, 4, 5, 7, 10, np.inf)


def _save(fig: Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_segments(segments: pd.DataFrame, value_label: str, path: Path) -> None:
    """``segments``: index segment, columns ``customers`` and ``value_share``."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    names = [str(n) for n in segments.index]
    axes[0].barh(names, segments["customers"], color="C0")
    axes[0].set_title("customers per segment")
    axes[1].barh(names, 100 * segments["value_share"], color="C2")
    axes[1].set_title(f"share of {value_label} (%)")
    for ax in axes:
        ax.invert_yaxis()
        ax.grid(alpha=0.3, axis="x")
    _save(fig, path)


def alive_matrix(history: pd.DataFrame, p_alive: np.ndarray) -> pd.DataFrame:
    """Mean P(alive) by recency bin (rows) and frequency bin (columns); NaN where empty."""
    r_labels = [_label(lo, hi, "w") for lo, hi in itertools.pairwise(RECENCY_EDGES)]
    f_labels = [_label(lo, hi, "") for lo, hi in itertools.pairwise(FREQUENCY_EDGES)]
    frame = pd.DataFrame(
        {
            "r": pd.cut(history["recency_weeks"], RECENCY_EDGES, right=False, labels=r_labels),
            "f": pd.cut(history["purchase_days"], FREQUENCY_EDGES, right=False, labels=f_labels),
            "p": p_alive,
        }
    )
    return frame.pivot_table(
        index="r", columns="f", values="p", aggfunc="mean", observed=False, dropna=False
    )


def _label(lo: float, hi: float, unit: str) -> str:
    if not np.isfinite(hi):
        return f"{lo:g}+{unit}"
    if hi - lo == 1:
        return f"{lo:g}{unit}"
    return f"{lo:g}-{hi:g}{unit}" if unit else f"{lo:g}-{hi - 1:g}"


def plot_alive_matrix(matrix: pd.DataFrame, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    values = matrix.to_numpy(np.float64)
    image = ax.imshow(np.ma.masked_invalid(values), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(values.shape[1]), [str(c) for c in matrix.columns])
    ax.set_yticks(range(values.shape[0]), [str(r) for r in matrix.index])
    ax.set_xlabel("purchase days so far (frequency)")
    ax.set_ylabel("weeks since the last purchase (recency)")
    ax.set_title("mean P(alive) by recency and frequency")
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, fraction=0.04)
    _save(fig, path)


def plot_calibration(window: ValidationWindow, path: Path) -> pd.DataFrame:
    table = decile_calibration(window.predicted, window.actual)
    fig, ax = plt.subplots(figsize=(6, 3.8))
    xs = table.index.to_numpy()
    ax.bar(xs - 0.2, table["predicted"], 0.4, label="predicted")
    ax.bar(xs + 0.2, table["actual"], 0.4, label="actual")
    ax.set_xticks(xs)
    ax.set_xlabel("decile of predicted purchases (10 = highest)")
    ax.set_ylabel("mean purchases per customer")
    ax.set_title(f"calibration, {window.start.date()} to {window.end.date()}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    _save(fig, path)
    return table


def plot_gain(window: ValidationWindow, gini: float, path: Path) -> None:
    xs, ys = gain_curve(window.predicted, window.actual)
    _, best = gain_curve(window.actual, window.actual)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(100 * xs, 100 * ys, label=f"model (normalised Gini {gini:.3f})")
    ax.plot(100 * xs, 100 * best, linestyle="--", color="grey", label="perfect order")
    ax.plot([0, 100], [0, 100], linestyle=":", color="black", label="random order")
    ax.set_xlabel("% of customers, highest predicted first")
    ax.set_ylabel("% of actual purchases")
    ax.set_title("cumulative gain")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    _save(fig, path)


def plot_drivers(importance: dict[str, float], path: Path) -> None:
    names = sorted(importance, key=importance.__getitem__)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.barh(names, [importance[n] for n in names], color="C4")
    ax.set_xlabel("mean |attribution| to expected purchases")
    ax.set_title("what drives the forecasts (all customers)")
    ax.grid(alpha=0.3, axis="x")
    _save(fig, path)
