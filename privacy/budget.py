"""Deciding, before training, whether a round fits the partner's privacy budget.

The intended order at a partner, every round::

    decision = plan_round(ledger, noise_multiplier=..., sample_rate=..., steps=..., ...)
    if not decision.allowed: refuse the round (decision.reason says why)
    stats = train_private(...)
    ledger.record(..., epsilon_budget=...)   # re-checks under the ledger's write lock
    release the model

When every round goes through ``plan_round`` first, the ledger's cumulative epsilon never exceeds
the budget: a round is allowed only if the epsilon of the whole history with it stays within.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from privacy.accounting import calibrate_noise, epsilon_for
from privacy.config import Accountant, DPConfig, check_budget
from privacy.errors import PrivacyConfigError
from privacy.ledger import PrivacyLedger

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoundDecision:
    """Whether a round may run; epsilons are cumulative over the ledger, at the same delta."""

    allowed: bool
    epsilon_before: float
    epsilon_after: float
    reason: str


def plan_round(
    ledger: PrivacyLedger,
    *,
    noise_multiplier: float,
    sample_rate: float,
    steps: int,
    target_delta: float,
    accountant: Accountant,
    epsilon_budget: float,
) -> RoundDecision:
    """Allow the round iff the ledger's history plus this round spends at most the budget.

    Reads the ledger and writes nothing; ``PrivacyLedger.record`` writes once the round ran.
    """
    check_budget(epsilon_budget)
    history = ledger.history()
    before = epsilon_for(history, target_delta=target_delta, accountant=accountant)
    after = epsilon_for(
        [*history, (noise_multiplier, sample_rate, steps)],
        target_delta=target_delta,
        accountant=accountant,
    )
    if after <= epsilon_budget:
        reason = (
            f"epsilon {before:.4f} -> {after:.4f} of budget {epsilon_budget:.4f} "
            f"(delta {target_delta:.3g}, {accountant})"
        )
        return RoundDecision(True, before, after, reason)
    reason = (
        f"refused: the round would take epsilon from {before:.4f} to {after:.4f}, above the "
        f"budget of {epsilon_budget:.4f} (delta {target_delta:.3g}, {accountant})"
    )
    logger.warning("privacy budget: %s", reason)
    return RoundDecision(False, before, after, reason)


def noise_multiplier_for(
    dp: DPConfig, *, sample_rate: float, steps: int, target_delta: float
) -> float:
    """``dp.noise_multiplier``, or the sigma that spends ``dp.target_epsilon`` over ``steps``.

    To make ``target_epsilon`` the epsilon of a whole federated run, pass the run's steps
    (rounds times local steps); the ledger and ``plan_round`` still count every round.
    """
    if dp.noise_multiplier is not None:
        return dp.noise_multiplier
    if dp.target_epsilon is None:
        raise PrivacyConfigError("set noise_multiplier or target_epsilon")
    return calibrate_noise(
        target_epsilon=dp.target_epsilon,
        target_delta=target_delta,
        sample_rate=sample_rate,
        steps=steps,
        accountant=dp.accountant,
    )
