"""``report.json`` and ``report.html`` (with PNG plots) of a simulation run."""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from federation import Metric, Progress, RunDir, RunSettings, dp_terms
from insight import EventTable
from insight.metrics import by_frequency_bucket
from simulations.baselines import BaselineResults
from simulations.ledger_epsilons import add_ledger_epsilons
from simulations.report_value import VALUE_PLOT, partners_section, plot_value, value_html
from simulations.value_of_federation import Table

METRIC_KEYS = ("auc_any_repeat", "corr_purchases", "mae_purchases", "mae_spend")
MODELS = ("federated", "centralized", "bgnbd", "naive")


def _round_rows(progress: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in progress if e.get(Progress.EVENT) == Progress.ROUND]


def _skipped_rows(progress: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in progress if e.get(Progress.EVENT) == Progress.SKIPPED]


def _plot_rounds(rounds: list[dict[str, Any]], baselines: BaselineResults, path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    xs = [r["round"] for r in rounds]
    for ax, key, label in (
        (axes[0], "auc_any_repeat", "AUC (any repeat purchase)"),
        (axes[1], "corr_purchases", "correlation (holdout purchases)"),
    ):
        ys = [baselines.per_round.get(r["round"], {}).get(key, np.nan) for r in rounds]
        ax.plot(xs, ys, marker="o", label="federated (global model)")
        for name, style in (("centralized", "--"), ("bgnbd", ":"), ("naive", "-.")):
            value = baselines.metrics[name].get(key)
            if value is not None:
                ax.axhline(value, linestyle=style, color="grey", label=name)
        ax.set_xlabel("round")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def frequency_buckets(baselines: BaselineResults) -> dict[str, list[float]]:
    """Mean holdout purchases by calibration frequency x = 0..6, 7+ (the BG/NBD paper's plot)."""
    actual = baselines.targets["purchases"].to_numpy(float)
    out: dict[str, list[float]] = {"x": [float(b) for b in range(8)]}
    for name in (m for m in MODELS if m in baselines.predictions):
        table = by_frequency_bucket(
            baselines.predictions[name].expected_purchases, actual, baselines.frequency, top=7
        )
        out["actual"] = [float(v) for v in table["actual"]]
        out[name] = [float(v) for v in table["predicted"]]
    return out


def _plot_buckets(buckets: dict[str, list[float]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = np.arange(8)
    ax.plot(xs, buckets["actual"], marker="s", color="black", label="actual")
    for name in (m for m in MODELS if m in buckets):
        ax.plot(xs, buckets[name], marker="o", label=name)
    ax.set_xticks(xs, [str(i) for i in range(7)] + ["7+"])
    ax.set_xlabel("repeat purchases in calibration")
    ax.set_ylabel("mean purchases in holdout")
    ax.set_title("Conditional expectations, by calibration frequency")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_compare(metrics: dict[str, dict[str, float]], path: Path) -> None:
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
    for ax, key in zip(axes, METRIC_KEYS, strict=True):
        names = [m for m in MODELS if m in metrics]  # no "federated" when no round trained
        values = [metrics[m].get(key, np.nan) for m in names]
        ax.bar(names, values, color=[f"C{MODELS.index(m)}" for m in names])
        ax.set_title(key)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        finite = [v for v in values if np.isfinite(v)]
        if finite and key.startswith(("auc", "corr")):
            ax.set_ylim(min(finite) - 0.05, max(finite) + 0.02)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def privacy_section(
    settings: RunSettings,
    rounds: list[dict[str, Any]],
    baselines: BaselineResults,
    skipped: list[dict[str, Any]],
) -> dict[str, Any]:
    """Per partner: final cumulative epsilon, budget, rounds trained and refused.

    ``skipped``: the rounds released nothing (central DP without every sampled partner); a
    partner's refusal there is a refusal all the same, so a partner that only ever refused is
    in the table too."""
    partners: dict[str, dict[str, Any]] = {}
    for r in [*rounds, *skipped]:
        for name, eps in r.get("epsilon", {}).items():
            p = partners.setdefault(name, {"rounds_trained": 0, "refused_rounds": 0})
            p["epsilon"] = eps["cumulative"]
            p["budget"] = eps["budget"]
            p["delta"] = settings.target_delta
        for name in r.get("participants", []):
            partners.setdefault(name, {"rounds_trained": 0, "refused_rounds": 0})[
                "rounds_trained"
            ] += 1
        for name in r.get("refusals", {}):
            partners.setdefault(name, {"rounds_trained": 0, "refused_rounds": 0})[
                "refused_rounds"
            ] += 1
    return {
        "enabled": settings.dp,
        "accountant": dp_terms(settings).record()["accountant"],
        "delta": settings.target_delta if settings.dp else None,
        "target_epsilon": settings.target_epsilon if settings.dp else None,
        "max_grad_norm": settings.max_grad_norm if settings.dp else None,
        "partners": partners,
        "mia_auc": baselines.mia_auc.get("federated"),
        "mia_auc_centralized_non_private": baselines.mia_auc.get("centralized"),
    }


def _plot_privacy(rounds: list[dict[str, Any]], baselines: BaselineResults, path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    names = sorted({n for r in rounds for n in r.get("epsilon", {})})
    for name in names:
        xs = [r["round"] for r in rounds if name in r.get("epsilon", {})]
        ys = [r["epsilon"][name]["cumulative"] for r in rounds if name in r.get("epsilon", {})]
        axes[0].plot(xs, ys, marker="o", label=name)
    if names:
        budget = max(r["epsilon"][n]["budget"] for r in rounds for n in r.get("epsilon", {}))
        axes[0].axhline(budget, color="grey", linestyle="--", label="largest budget")
        axes[0].legend(fontsize=7)
    axes[0].set_xlabel("round")
    axes[0].set_title("cumulative epsilon per partner")
    eps = [
        max((e["cumulative"] for e in r.get("epsilon", {}).values()), default=np.nan)
        for r in rounds
    ]
    auc = [baselines.per_round.get(r["round"], {}).get("auc_any_repeat", np.nan) for r in rounds]
    axes[1].plot(eps, auc, marker="o", label="federated, after each round")
    central = baselines.metrics["centralized"].get("auc_any_repeat")
    if central is not None:
        axes[1].axhline(central, color="grey", linestyle="--", label="centralized, non-private")
    axes[1].set_xlabel("largest cumulative epsilon of a partner")
    axes[1].set_ylabel("holdout AUC")
    axes[1].set_title("privacy-utility")
    axes[1].legend(fontsize=7)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(
    run_dir: Path,
    *,
    settings: RunSettings,
    table: EventTable,
    partners: dict[str, int],
    progress: list[dict[str, Any]],
    baselines: BaselineResults,
    federated_seconds: float,
    audit: dict[str, Any] | None = None,
    central_dp: dict[str, Any] | None = None,
    value_of_federation: dict[str, Table] | None = None,
    value_of_federation_seconds: float | None = None,
    privacy_audit: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``partners`` holds each partner's ``customers``, ``share`` and, when measured, its
    ``value_of_federation`` (``simulations.value_of_federation``)."""
    rounds = _round_rows(progress)
    end = next((e for e in progress if e.get(Progress.EVENT) == Progress.END), {})
    buckets = frequency_buckets(baselines)
    train_times = [r.get("max_partner_train_seconds", 0.0) for r in rounds]
    report: dict[str, Any] = {
        "run_id": run_dir.name,
        "dataset": settings.dataset,
        "partners": partners_section(partners, value_of_federation or {}),
        "rounds": settings.num_server_rounds,
        "split": settings.split,
        "seed": settings.seed,
        "periods": {
            "calibration_end": settings.calibration_end,
            "holdout_end": settings.holdout_end,
        },
        "data": asdict(table.report),
        "metrics": baselines.metrics,
        "bgnbd_params": baselines.bgnbd_params,
        "by_frequency": buckets,
        "per_round": [
            {
                "round": r["round"],
                "participants": r["participants"],
                "failures": r["failures"],
                "model_sha256": r["model_sha256_after"],
                "pooled": baselines.per_round.get(r["round"], {}),
                "partners_evaluate": r.get("evaluate", {}),
                "train_loss": r.get("train", {}).get(Metric.TRAIN_LOSS),
                "seconds": r["seconds"],
                "train_phase_seconds": r.get("train_phase_seconds"),
                "max_partner_train_seconds": r.get("max_partner_train_seconds"),
                "sum_partner_train_seconds": r.get("sum_partner_train_seconds"),
            }
            for r in rounds
        ],
        "model_sha256": end.get("final_model_sha256") or "",
        "stopped_early": end.get("stopped_early", ""),
        "privacy": privacy_section(settings, rounds, baselines, _skipped_rows(progress))
        | {"central": central_dp or {}}
        | ({"audit": privacy_audit} if privacy_audit is not None else {}),
        "audit": audit or {},
        "timing": {
            "federated_seconds": federated_seconds,
            "centralized_train_seconds": baselines.centralized_seconds,
            "value_of_federation_seconds": value_of_federation_seconds,
            "mean_round_seconds": float(np.mean([r["seconds"] for r in rounds]))
            if rounds
            else None,
            "mean_max_partner_train_seconds": float(np.mean(train_times)) if train_times else None,
        },
    }
    files = RunDir(run_dir)
    add_ledger_epsilons(report["privacy"], files.partner_homes, settings)
    files.report_json.write_text(json.dumps(report, indent=2, sort_keys=True, default=float))
    _plot_rounds(rounds, baselines, files.rounds_plot)
    _plot_buckets(buckets, files.by_frequency_plot)
    _plot_compare(baselines.metrics, files.compare_plot)
    _plot_privacy(rounds, baselines, files.privacy_plot)
    plotted = plot_value(report["partners"], run_dir / VALUE_PLOT)
    files.report_html.write_text(_html(report, files, plotted))
    return report


def _html(report: dict[str, Any], files: RunDir, value_plotted: bool) -> str:
    rows = "".join(
        "<tr><th>{}</th>{}</tr>".format(
            html.escape(m),
            "".join(
                f"<td>{report['metrics'][m].get(k, float('nan')):.4f}</td>" for k in METRIC_KEYS
            ),
        )
        for m in MODELS
        if m in report["metrics"]
    )
    head = "".join(f"<th>{k}</th>" for k in METRIC_KEYS)
    partners = ", ".join(
        f"{html.escape(k)} ({v['customers']})" for k, v in report["partners"].items()
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>fedinsight run {html.escape(report["run_id"])}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}</style>
</head><body>
<h1>fedinsight run {html.escape(report["run_id"])}</h1>
<p>Dataset <b>{html.escape(report["dataset"])}</b>,
split <code>{html.escape(report["split"])}</code>,
{report["rounds"]} rounds, partners: {partners}.<br>
Calibration through {report["periods"]["calibration_end"]}, holdout to
{report["periods"]["holdout_end"]}. Final model sha256 <code>{report["model_sha256"]}</code>.</p>
<h2>Holdout metrics</h2>
<table><tr><th>model</th>{head}</tr>{rows}</table>
<img src="{files.compare_plot.name}" alt="metrics by model">
<h2>Value of federation, per partner</h2>{value_html(report["partners"], value_plotted)}
<h2>Metrics per round</h2><img src="{files.rounds_plot.name}" alt="metrics per round">
<h2>Privacy</h2>{_privacy_html(report)}
<img src="{files.privacy_plot.name}" alt="cumulative epsilon per partner and privacy-utility">
<h2>Audit log</h2>{_audit_html(report)}
<h2>Predicted vs actual holdout purchases by calibration frequency</h2>
<img src="{files.by_frequency_plot.name}" alt="conditional expectations">
</body></html>
"""


def _privacy_html(report: dict[str, Any]) -> str:
    p = report["privacy"]
    if not p["enabled"]:
        return "<p>Record-level differential privacy was <b>off</b> for this run.</p>"
    rows = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{v.get('epsilon', float('nan')):.3f}</td>"
        f"<td>{v.get('budget', float('nan')):.3f}</td><td>{v['rounds_trained']}</td>"
        f"<td>{v['refused_rounds']}</td></tr>"
        for name, v in sorted(p["partners"].items())
    )
    central = p.get("central") or {}
    central_text = (
        f"<p>Partner-level (central) DP: updates clipped to {central['clipping_norm']}, noise "
        f"multiplier {central['noise_multiplier']}, {central['releases']} releases, "
        f"&epsilon; = {central['epsilon']:.3f} per partner.</p>"
        if central
        else ""
    )
    mia = p.get("mia_auc")
    mia_text = f"{mia:.4f}" if isinstance(mia, float) else "n/a"
    return (
        f"<p>DP-SGD per customer, {html.escape(str(p['accountant']))} accountant, "
        f"&delta; = {p['delta']}, max_grad_norm {p['max_grad_norm']}. Membership-inference "
        f"AUC (loss threshold) on the final model: {mia_text} (0.5 = no better than chance).</p>"
        "<table><tr><th>partner</th><th>&epsilon;</th><th>budget</th><th>rounds trained</th>"
        f"<th>rounds refused</th></tr>{rows}</table>{central_text}"
    )


def _audit_html(report: dict[str, Any]) -> str:
    a = report.get("audit") or {}
    if not a:
        return "<p>No audit log.</p>"
    status = (
        "verified" if a.get("verified") else f"NOT verified: {html.escape(str(a.get('error', '')))}"
    )
    root = html.escape(str(a.get("root", "")))
    run_id = html.escape(report["run_id"])
    return (
        f"<p>{a.get('tree_size')} records; root <code>{root}</code>; {status}. Check it "
        f"yourself: <code>fedinsight audit verify {run_id} --vkey {run_id}/audit/coordinator.vkey "
        f"--witness-vkey {run_id}/partner-homes/PARTNER/witness.vkey ...</code> (one "
        "<code>--witness-vkey</code> per partner) in the output folder.</p>"
        f"<pre>{html.escape(str(a.get('checkpoint', '')))}</pre>"
    )
