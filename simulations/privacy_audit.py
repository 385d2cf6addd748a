"""``fedinsight simulate --privacy-audit``: canaries in the partners' training, an ε bound out.

Two kinds of canary (``--audit-kind``):

``gradient`` (the default): white-box gradient canaries (``privacy.gradient_canaries``). m
canaries are dealt round robin to the partners, each included with probability 1/2 (seeded),
and every partner's home gets its spec (``client_node.audit_canaries``). Each partner's DP step
(or plain step, without DP) adds its included canaries' Dirac gradients and scores all of them
as an adversary who sees every noisy gradient would; the run's score of a canary is the sum over
its partner's rounds. A partner that never trained scores its canaries 0.

``input``: canary customers in the data. Before training, m canary customers
(``privacy.canaries``) are made, each included with probability 1/2; the included ones are
spread over the partners (a seeded round robin) and written into the partners' raw data, so
they go through the partners' own ingestion, pseudonymization and DP training like any
customer. The excluded ones are written nowhere.
After training, the final model scores every canary, and ``privacy.canary_audit`` turns the
scores into the ε lower bound at 95% confidence and the TPR at 0.1% FPR.

Canary customers are never in the researcher's pooled evaluation, the baselines or the membership
check: those are computed on the real customers only. A partner's own (noised) evaluation does
include its included canaries, as they are part of its data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from client_node.audit_canaries import SPEC_FILE, read_scores
from federation import Progress, RunDir, RunSettings, load_model_state
from insight import CustomerSequenceModel
from insight.metrics import roc_auc
from privacy.canaries import CANARY_PREFIX, CanarySet, canary_scores, make_canaries
from privacy.canary_audit import GUESS_FRACTIONS, epsilon_lower_bound, tpr_at_fpr
from privacy.gradient_canaries import CanarySpec, sum_round_scores
from simulations.errors import SimulationError

KINDS = ("gradient", "input")
METHODS = {
    "gradient": "steinke-nasr-jagielski-2023 one-run audit, white-box gradient canaries",
    "input": "steinke-nasr-jagielski-2023 one-run canary audit",
}
METHOD = METHODS["input"]


@dataclass(frozen=True)
class GradientPlan:
    """The gradient canaries: ``owners[i]`` holds canary i, ``included[i]`` says whether it
    takes part; ``specs`` is each partner's spec (its canaries in order)."""

    owners: tuple[str, ...]
    included: npt.NDArray[np.bool_]
    specs: dict[str, CanarySpec]

    @property
    def count(self) -> int:
        return len(self.owners)


def plan_gradient_canaries(settings: RunSettings, count: int, partners: list[str]) -> GradientPlan:
    """``count`` canaries dealt round robin to ``partners``, each included with probability 1/2."""
    if count < 2:
        raise SimulationError(f"--privacy-audit: the audit needs at least 2 canaries, got {count}")
    rng = np.random.default_rng([settings.seed, 0xD1AC])
    included = rng.random(count) < 0.5
    owners = tuple(partners[i % len(partners)] for i in range(count))
    specs = {
        name: CanarySpec(
            included=tuple(bool(b) for b, o in zip(included, owners, strict=True) if o == name),
            seed=int(rng.integers(2**62)),
        )
        for name in partners
        if name in owners
    }
    return GradientPlan(owners=owners, included=included, specs=specs)


def write_canary_specs(plan: CanarySet | GradientPlan | None, homes: Path) -> None:
    """Each partner's gradient canary spec into its home (nothing for input canaries)."""
    if isinstance(plan, GradientPlan):
        for name, spec in plan.specs.items():
            (homes / name / "audit").mkdir(parents=True, exist_ok=True, mode=0o700)
            (homes / name / "audit" / SPEC_FILE).write_text(spec.to_json())


def gradient_scores(plan: GradientPlan, homes: Path) -> npt.NDArray[np.float64]:
    """The run's score of every canary, in plan order (0 for a partner that never trained; a
    simulated partner's home is new with each run, so its scores file holds this run's)."""
    scores = np.zeros(plan.count, dtype=np.float64)
    for name, spec in plan.specs.items():
        body = read_scores(homes / name)
        if body is None:
            continue
        rounds = body.get("rounds")
        mine = np.array([o == name for o in plan.owners])
        scores[mine] = sum_round_scores(
            rounds if isinstance(rounds, dict) else {}, len(spec.included)
        )
    return scores


ALPHA = 0.05
FPR = 1e-3


def plan_canaries(
    settings: RunSettings,
    count: int,
    partners: list[str],
    events: pd.DataFrame,
    kind: str = "gradient",
) -> tuple[CanarySet | GradientPlan, dict[str, pd.DataFrame]]:
    """The run's canaries, and the included canaries' events per partner (none for gradient
    canaries)."""
    if kind not in KINDS:
        raise SimulationError(f"--audit-kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "gradient":
        return plan_gradient_canaries(settings, count, partners), {}
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
    canaries: CanarySet | GradientPlan,
    progress: list[dict[str, Any]],
) -> dict[str, Any]:
    """``report.json``'s ``privacy.audit``: the canaries' scores (the partners' gradient
    scores, or the final model's scores of the canary customers), turned into the ε lower bound
    and the attack's TPR at 0.1% FPR."""
    files = RunDir(run_dir)
    claimed = claimed_epsilon(settings, progress)
    gradient = isinstance(canaries, GradientPlan)
    base = {
        "method": METHODS["gradient" if gradient else "input"],
        "kind": "gradient" if gradient else "input",
        "canaries": canaries.count,
        "included": int(canaries.included.sum()),
        "claimed_epsilon": claimed if claimed is None or math.isfinite(claimed) else "inf",
        "delta": settings.target_delta,
        "confidence": 1 - ALPHA,
        "guess_fractions": list(GUESS_FRACTIONS),
    }
    if isinstance(canaries, GradientPlan):
        scores = gradient_scores(canaries, files.partner_homes)
    elif not files.model.exists():
        return base | {
            "epsilon_lower_bound": None,
            "tpr_at_fpr_0_001": None,
            "note": "no round trained: no final model to audit",
        }
    else:
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
