"""A privacy-utility sweep: the same simulation at several per-partner ε (``inf`` = no DP).

Each point is a full ``fedinsight simulate`` run (Flower's simulation engine, real partner
ledgers, audit log); the sweep writes ``sweep.json`` and ``sweep.png`` (holdout AUC and
correlation against ε, with the centralized non-private model and BG/NBD for reference).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from simulations.runner import SimulationSpec, run_simulation


def parse_epsilons(text: str) -> list[float]:
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        value = math.inf if part.lower() in ("inf", "none", "off") else float(part)
        if not value > 0:
            raise ValueError(f"epsilon {part!r} must be > 0 (or inf for no DP)")
        out.append(value)
    return out


def epsilon_sweep(
    spec: SimulationSpec,
    epsilons: list[float],
    *,
    on_point: Callable[[float, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run ``spec`` once per epsilon into ``spec.out_dir``; return and write the sweep."""
    points: list[dict[str, Any]] = []
    reference: dict[str, Any] = {}
    for eps in epsilons:
        private = math.isfinite(eps)
        settings = replace(
            spec.settings,
            dp=private,
            target_epsilon=eps if private else spec.settings.target_epsilon,
            epsilon_budget=eps if private else math.inf,  # no DP: no budget (else refused)
        )
        result = run_simulation(replace(spec, settings=settings))
        report = result.report
        fed = report["metrics"]["federated"]
        point = {
            "epsilon": eps if private else "inf",
            "run_dir": str(result.run_dir),
            "auc_any_repeat": fed["auc_any_repeat"],
            "corr_purchases": fed["corr_purchases"],
            "mae_purchases": fed["mae_purchases"],
            "mae_spend": fed["mae_spend"],
            "mia_auc": report["privacy"].get("mia_auc"),
            "epsilon_spent": {
                k: v.get("epsilon") for k, v in report["privacy"]["partners"].items()
            },
        }
        points.append(point)
        reference = {
            "centralized": report["metrics"]["centralized"],
            "bgnbd": report["metrics"]["bgnbd"],
            "mia_auc_centralized_non_private": report["privacy"].get(
                "mia_auc_centralized_non_private"
            ),
        }
        if on_point:
            on_point(eps, point)
    sweep = {"points": points, "reference": reference}
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    (spec.out_dir / "sweep.json").write_text(json.dumps(sweep, indent=2, sort_keys=True))
    _plot(sweep, spec.out_dir / "sweep.png")
    return sweep


def _plot(sweep: dict[str, Any], path: Path) -> None:
    points = sweep["points"]
    finite = [p for p in points if p["epsilon"] != "inf"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key, label in (
        (axes[0], "auc_any_repeat", "holdout AUC"),
        (axes[1], "corr_purchases", "holdout correlation"),
    ):
        ax.plot(
            [p["epsilon"] for p in finite],
            [p[key] for p in finite],
            marker="o",
            label="federated, DP",
        )
        no_dp = [p for p in points if p["epsilon"] == "inf"]
        if no_dp:
            ax.axhline(no_dp[0][key], color="C0", linestyle=":", label="federated, no DP")
        for name, style in (("centralized", "--"), ("bgnbd", "-.")):
            value = sweep["reference"].get(name, {}).get(key)
            if value is not None:
                ax.axhline(value, color="grey", linestyle=style, label=name)
        ax.set_xscale("log")
        ax.set_xlabel("epsilon per partner (whole run)")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
