"""What ``fedinsight simulate`` prints when a run is over: the holdout metrics of each model,
ε per partner, the membership-inference AUC, the audit verdict and the value of federation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def print_summary(console: Console, report: dict[str, Any], run_dir: Path) -> None:
    """The summary ``fedinsight simulate`` prints at the end of a run."""
    from federation import RunDir

    table = Table(
        title=f"Holdout metrics ({report['dataset']}, {len(report['partners'])} partners)"
    )
    table.add_column("model")
    keys = ("auc_any_repeat", "corr_purchases", "mae_purchases", "mae_spend")
    for k in keys:
        table.add_column(k, justify="right")
    for name, metrics in report["metrics"].items():
        table.add_row(name, *(f"{metrics.get(k, float('nan')):.4f}" for k in keys))
    console.print(table)
    if not report.get("model_sha256"):
        console.print(
            "[yellow]no round trained: there is no federated model "
            f"({report.get('stopped_early') or 'no round released a model'})[/yellow]"
        )
    privacy = report.get("privacy", {})
    if privacy.get("enabled"):
        eps = ", ".join(
            f"{name} {p.get('epsilon', float('nan')):.2f}/{p.get('budget', float('nan')):g}"
            + (f" ({p['refused_rounds']} refused)" if p.get("refused_rounds") else "")
            for name, p in sorted(privacy.get("partners", {}).items())
        )
        console.print(f"epsilon spent / budget (delta {privacy.get('delta')}): {eps}")
        if privacy.get("mia_auc") is not None:
            console.print(f"membership-inference AUC on the final model: {privacy['mia_auc']:.4f}")
    else:
        console.print("[yellow]differential privacy was off for this run[/yellow]")
    if (canary := privacy.get("audit")) and canary.get("epsilon_lower_bound") is not None:
        tpr = canary["tpr_at_fpr_0_001"]
        console.print(
            f"privacy audit ({canary['canaries']} canaries): epsilon >= "
            f"{canary['epsilon_lower_bound']:.3f} at 95% (claimed {canary['claimed_epsilon']}), "
            f"TPR at 0.1% FPR {'n/a' if tpr is None else f'{tpr:.3f}'}"
        )
    audit = report.get("audit", {})
    if audit:
        verdict = (
            "[green]verified[/green]"
            if audit.get("verified")
            else (f"[red]NOT verified: {audit.get('error')}[/red]")
        )
        console.print(f"audit log: {audit.get('tree_size')} records, {verdict}")
    _print_value(console, report)
    console.print(f"run directory: {run_dir}")
    console.print(f"report: {RunDir(run_dir).report_html}")


def _print_value(console: Console, report: dict[str, Any]) -> None:
    """Holdout AUC per partner: federated, the partner alone, BG/NBD on its own data."""
    partners = report.get("partners", {})
    rows = {
        name: p["value_of_federation"]
        for name, p in sorted(partners.items())
        if isinstance(p, dict) and p.get("value_of_federation")
    }
    if not rows:
        return
    table = Table(title="Value of federation: holdout AUC on each partner's own customers")
    for column in ("partner", "share", "federated", "local-only", "bgnbd-local"):
        table.add_column(column, justify="left" if column == "partner" else "right")
    for name, value in rows.items():
        aucs = (
            value.get(k, {}).get("auc_any_repeat", float("nan"))
            for k in ("federated", "local_only", "bgnbd_local")
        )
        share = f"{100 * partners[name].get('share', float('nan')):.1f}%"
        table.add_row(name, share, *(f"{a:.4f}" for a in aucs))
    console.print(table)
