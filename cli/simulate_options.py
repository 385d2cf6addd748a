"""Options of ``fedinsight simulate`` kept out of ``cli.main`` (which is at its size limit)."""

from __future__ import annotations

from typing import Annotated

import typer

PrivacyAudit = Annotated[
    bool,
    typer.Option(
        "--privacy-audit/--no-privacy-audit",
        help="add canaries (half of them trained on) and report an empirical epsilon lower "
        "bound at 95% confidence (report.json privacy.audit)",
    ),
]
AuditKind = Annotated[
    str,
    typer.Option(
        help="--privacy-audit: 'gradient' (white-box Dirac gradient canaries in every partner's "
        "DP step, scored as an adversary who sees every noisy gradient) or 'input' (canary "
        "customers in the data, scored by the final model only)"
    ),
]
Explain = Annotated[
    bool,
    typer.Option(
        "--explain/--no-explain",
        help="the partners' end-of-run scores carry top_drivers and their reports the global "
        "drivers (Captum: most of the scoring's time); --no-explain leaves them out",
    ),
]
PartnersAtOnce = Annotated[
    int,
    typer.Option(
        min=0,
        help="partners whose work runs at the same time (Ray actors, each a process that "
        "imports torch and Opacus); 0: one per core. For small partners 1 is quicker: each "
        "actor's start-up costs more than their training. Not with --ray-address (the "
        "cluster's nodes declare their CPUs)",
    ),
]
Canaries = Annotated[
    int,
    typer.Option(min=2, help="--privacy-audit: canaries to add (>= 2000 for TPR at 0.1% FPR)"),
]


def parse_budgets(text: str) -> dict[str, float]:
    """``partner-0=0.5,partner-1=3`` as a mapping; ``typer.BadParameter`` on a bad part."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise typer.BadParameter(f"--budgets: {part!r} is not partner=number")
    return out
