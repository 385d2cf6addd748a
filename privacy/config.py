"""The partner's differential-privacy settings, validated once.

The privacy unit is one customer: ``insight.training.CustomerWindows`` gives each customer
exactly one training example per epoch, so a per-sample gradient is a per-customer gradient and
(epsilon, delta) below bound what the released model reveals about any one customer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

from privacy.errors import PrivacyConfigError

Accountant = Literal["rdp", "prv"]
ACCOUNTANTS: tuple[str, ...] = get_args(Accountant)
Engine = Literal["fedinsight", "opacus"]
ENGINES: tuple[str, ...] = get_args(Engine)


def default_delta(num_customers: int) -> float:
    """``min(1e-5, 1 / (10 n))``: well below ``1 / n``, so no single customer is likely exposed.

    Requires ``num_customers >= 1``.
    """
    if num_customers < 1:
        raise PrivacyConfigError(f"num_customers must be >= 1, got {num_customers}")
    return min(1e-5, 1.0 / (10 * num_customers))


@dataclass(frozen=True)
class DPConfig:
    """How a partner trains privately.

    Attributes:
        enabled: train with DP-SGD; when False the caller trains without privacy.
        noise_multiplier: sigma, the noise standard deviation over ``max_grad_norm``; None means
            calibrate it from ``target_epsilon`` (``privacy.noise_multiplier_for``). Exactly one
            of ``noise_multiplier`` and ``target_epsilon`` is set.
        max_grad_norm: L2 bound on each customer's gradient (per-sample clipping).
        target_epsilon: the epsilon the calibrated sigma should reach over the steps it is
            calibrated for.
        target_delta: delta of every epsilon reported; None means ``default_delta(n)``.
        accountant: ``"rdp"`` (Opacus ``RDPAccountant``, the default) or ``"prv"``
            (``PRVAccountant``, tighter, slower).
        epsilon_budget: the most cumulative epsilon the partner's ledger may ever reach; a round
            that would pass it is refused (``privacy.plan_round``); ``math.inf``: no budget.
        engine: the per-sample step, ``"fedinsight"`` (the project's own) or ``"opacus"``
            (Opacus's ``GradSampleModule`` and ``DPOptimizer``; ``privacy.engines``).
    """

    enabled: bool = True
    noise_multiplier: float | None = 1.0
    max_grad_norm: float = 1.0
    target_epsilon: float | None = None
    target_delta: float | None = None
    accountant: Accountant = "rdp"
    epsilon_budget: float = 8.0
    engine: Engine = "fedinsight"

    def __post_init__(self) -> None:
        check_positive("max_grad_norm", self.max_grad_norm)
        check_budget(self.epsilon_budget)
        if self.noise_multiplier is not None:
            check_positive("noise_multiplier", self.noise_multiplier)
        if self.target_epsilon is not None:
            check_positive("target_epsilon", self.target_epsilon)
            if self.target_epsilon > self.epsilon_budget:
                raise PrivacyConfigError(
                    f"target_epsilon ({self.target_epsilon}) is above epsilon_budget "
                    f"({self.epsilon_budget}); every round would be refused"
                )
        if self.target_delta is not None and not 0 < self.target_delta < 1:
            raise PrivacyConfigError(f"target_delta must be in (0, 1), got {self.target_delta}")
        if self.accountant not in ACCOUNTANTS:
            raise PrivacyConfigError(
                f"accountant must be one of {', '.join(ACCOUNTANTS)}, got {self.accountant!r}"
            )
        if self.engine not in ENGINES:
            raise PrivacyConfigError(
                f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}"
            )
        if self.enabled and (self.noise_multiplier is None) == (self.target_epsilon is None):
            raise PrivacyConfigError(
                "set exactly one of noise_multiplier and target_epsilon "
                f"(got noise_multiplier={self.noise_multiplier}, "
                f"target_epsilon={self.target_epsilon})"
            )

    def delta_for(self, num_customers: int) -> float:
        """``target_delta``, or ``default_delta(num_customers)`` when it is None."""
        if self.target_delta is not None:
            return self.target_delta
        return default_delta(num_customers)


def check_budget(epsilon_budget: float) -> None:
    """Raise ``PrivacyConfigError`` unless ``epsilon_budget`` is > 0; ``math.inf`` is allowed and
    means no budget (a partner that set none)."""
    if epsilon_budget != math.inf:
        check_positive("epsilon_budget", epsilon_budget)


def check_positive(name: str, value: float) -> None:
    """Raise ``PrivacyConfigError`` unless ``value`` is a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PrivacyConfigError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise PrivacyConfigError(f"{name} must be a finite number > 0, got {value}")
