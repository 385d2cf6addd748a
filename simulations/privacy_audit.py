"""``fedinsight simulate --privacy-audit``: canaries in the partners' data, an ε lower bound out.

Before training, m canary customers (``privacy.canaries``) are made, each included with
probability 1/2; the included ones are spread over the partners (a seeded round robin) and
written into the partners' raw data, so they go through the partners' own ingestion,
pseudonymization and DP training like any customer. The excluded ones are written nowhere.
After training, the final model scores every canary, and ``privacy.canary_audit`` turns the
scores into the ε lower bound at 95% confidence and the TPR at 0.1% FPR.

Canaries are never in the researcher's pooled evaluation, the baselines or the membership
check: those are computed on the real customers only. A partner's own (noised) evaluation does
include its included canaries, as they are part of its data.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from federation import Progress, RunDir, RunSettings, load_model_state
from insight import CustomerSequenceModel
from insight.metrics import roc_auc
from privacy.canaries import CANARY_PREFIX, CanarySet, canary_scores, make_canaries
from privacy.canary_audit import GUESS_FRACTIONS, epsilon_lower_bound, tpr_at_fpr
from simulations.errors import SimulationError

METHOD = "steinke-nasr-jagielski-2023 one-run canary audit"
ALPHA = 0.05
FPR = 1e-3


def plan_canaries(
    settings: RunSettings, count: int, partners: list[str], events: pd.DataFrame
) -> tuple[CanarySet, dict[str, pd.DataFrame]]:
    """The run's canaries, and the included canaries' events per partner."""
    taken = events["customer_id"].astype(str).str.startswith(CANARY_PREFIX)
    if taken.any():
        raise SimulationError(
            f"the data already has customer ids starting with {CANARY_PREFIX!r}; "
            "the privacy audit cannot name its canaries"
        )
    try:
        canaries = make_canaries(
            count,
            periods=settings.periods(),
            features=settings.feature_config(),
            seed=settings.seed,
        )
    except Exception as exc:  # PrivacyError: too few canaries, no calibration-start
        raise SimulationError(f"--privacy-audit: {exc}") from None
    rng = np.random.default_rng([settings.seed, 0xA0D1])
    chosen = rng.permutation(canaries.customer_ids[canaries.included])
    inserted = canaries.included_events()
    out: dict[str, pd.DataFrame] = {}
    for i, name in enumerate(partners):
        mine = set(chosen[i :: len(partners)].tolist())
        out[name] = inserted[inserted["customer_id"].isin(mine)]
    return canaries, out


def claimed_epsilon(settings: RunSettings, progress: list[dict[str, Any]]) -> float | None:
    """The largest cumulative ε any partner's ledger reports at the end: inf without DP, None
    when no partner trained."""
    if not settings.dp:
        return math.inf
    final: dict[str, float] = {}
    for event in progress:
        if event.get(Progress.EVENT) == Progress.ROUND:
            for name, eps in (event.get("epsilon") or {}).items():
                final[name] = float(eps["cumulative"])
    return max(final.values(), default=None)


def run_audit(
    run_dir: Path,
    settings: RunSettings,
    canaries: CanarySet,
    progress: list[dict[str, Any]],
) -> dict[str, Any]:
    """``report.json``'s ``privacy.audit``: the final model's scores of the canaries, turned
    into the ε lower bound and the attack's TPR at 0.1% FPR."""
    files = RunDir(run_dir)
    claimed = claimed_epsilon(settings, progress)
    base = {
        "method": METHOD,
        "canaries": canaries.count,
        "included": int(canaries.included.sum()),
        "claimed_epsilon": claimed if claimed is None or math.isfinite(claimed) else "inf",
        "delta": settings.target_delta,
        "confidence": 1 - ALPHA,
        "guess_fractions": list(GUESS_FRACTIONS),
    }
    if not files.model.exists():
        return base | {
            "epsilon_lower_bound": None,
            "tpr_at_fpr_0_001": None,
            "note": "no round trained: no final model to audit",
        }
    model = CustomerSequenceModel()
    model.load_state_dict(load_model_state(files.model))
    scores = canary_scores(
        model, canaries, periods=settings.periods(), features=settings.feature_config()
    )
    bound = epsilon_lower_bound(scores, canaries.included, delta=settings.target_delta, alpha=ALPHA)
    tpr, why = tpr_at_fpr(scores, canaries.included, fpr=FPR)
    out = base | {
        "epsilon_lower_bound": bound.epsilon,
        "guesses": bound.guesses,
        "correct": bound.correct,
        "tpr_at_fpr_0_001": tpr,
        "attack_auc": roc_auc(scores, canaries.included),  # 0.5: the scores say nothing
    }
    if why:
        out["tpr_note"] = why
    return out
