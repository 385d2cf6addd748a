"""The privacy package's exceptions. Each names the parameter or figure that was wrong."""

from __future__ import annotations


class PrivacyError(Exception):
    """Base class of every error raised by ``privacy``."""


class PrivacyConfigError(PrivacyError, ValueError):
    """A privacy parameter is missing, out of range or inconsistent with another."""


class BudgetExceededError(PrivacyError):
    """Recording a round would push the cumulative epsilon above the partner's budget.

    Carries the cumulative epsilon before the round, what it would have been after, and the
    budget, all at ``target_delta``.
    """

    def __init__(
        self,
        *,
        epsilon_before: float,
        epsilon_after: float,
        epsilon_budget: float,
        target_delta: float,
    ) -> None:
        self.epsilon_before = epsilon_before
        self.epsilon_after = epsilon_after
        self.epsilon_budget = epsilon_budget
        self.target_delta = target_delta
        super().__init__(
            f"privacy budget exceeded: epsilon would go from {epsilon_before:.4f} to "
            f"{epsilon_after:.4f} (budget {epsilon_budget:.4f}, delta {target_delta:.3g})"
        )


class LedgerError(PrivacyError):
    """The privacy ledger file cannot be opened, is not a ledger, or refused a write."""


class UnsupportedModelError(PrivacyError):
    """The model has a trainable layer whose per-sample gradient this package cannot compute."""
