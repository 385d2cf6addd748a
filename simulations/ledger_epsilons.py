"""Each simulated partner's ε by what it was spent on: training rounds and charged evaluations.

A partner's ledger records its charged evaluations under a run id of their own
(``client_node.task.evaluation_ledger_run``: ``<run>:evaluate``), beside its training rounds.
The report shows, per partner, the ε of each part alone and the total: ε of everything the
ledger holds, composed by the run's accountant (less than the sum of the two parts: the
accountant composes the noise, not the ε). A simulated partner's ledger is fresh, so it holds
this run's rounds only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from client_node.task import evaluation_ledger_run
from federation import RunSettings, dp_terms
from privacy import PrivacyLedger, epsilon_for

LEDGER_FILE = "privacy.sqlite"
_EVALUATE_SUFFIX = evaluation_ledger_run("")


def ledger_epsilons(ledger: PrivacyLedger, settings: RunSettings) -> dict[str, Any]:
    """``{epsilon_training, epsilon_evaluation, epsilon_total, evaluations_charged}`` of one
    partner's ledger, at the ledger's fixed δ (the run's when it has none yet)."""
    entries = ledger.entries()
    delta = ledger.fixed_delta() or settings.target_delta
    accountant = dp_terms(settings).accountant
    evaluations = [e for e in entries if e.run_id.endswith(_EVALUATE_SUFFIX)]
    training = [e for e in entries if not e.run_id.endswith(_EVALUATE_SUFFIX)]

    def eps(chosen: list[Any]) -> float:
        history = [(e.noise_multiplier, e.sample_rate, e.steps) for e in chosen]
        return epsilon_for(history, target_delta=delta, accountant=accountant)

    return {
        "epsilon_training": eps(training),
        "epsilon_evaluation": eps(evaluations),
        "epsilon_total": eps(entries),
        "evaluations_charged": len(evaluations),
    }


def add_ledger_epsilons(privacy: dict[str, Any], homes: Path, settings: RunSettings) -> None:
    """Add `ledger_epsilons` to each partner of the report's privacy section (a partner that
    has a ledger in ``homes/<partner>/``), and the largest total as ``epsilon_total_max``."""
    if not settings.dp or not homes.is_dir():
        return
    partners: dict[str, Any] = privacy.setdefault("partners", {})
    totals = []
    for path in sorted(homes.glob(f"*/{LEDGER_FILE}")):
        figures = ledger_epsilons(PrivacyLedger(path), settings)
        partners.setdefault(path.parent.name, {}).update(figures)
        totals.append(figures["epsilon_total"])
    privacy["epsilon_total_max"] = max(totals) if totals else None
