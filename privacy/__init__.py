"""Differential privacy at the partner: per-customer DP-SGD, accounting, a persistent budget."""

from privacy.accounting import calibrate_noise, epsilon_for
from privacy.budget import RoundDecision, noise_multiplier_for, plan_round
from privacy.config import DPConfig, default_delta
from privacy.errors import (
    BudgetExceededError,
    LedgerError,
    PrivacyConfigError,
    PrivacyError,
    UnsupportedModelError,
)
from privacy.ledger import LEDGER_GENESIS, LedgerEntry, PrivacyLedger, ledger_link
from privacy.mia import membership_inference_auc
from privacy.training import PrivateTrainStats, RoundSchedule, round_schedule, train_private

__all__ = [
    "LEDGER_GENESIS",
    "BudgetExceededError",
    "DPConfig",
    "LedgerEntry",
    "LedgerError",
    "PrivacyConfigError",
    "PrivacyError",
    "PrivacyLedger",
    "PrivateTrainStats",
    "RoundDecision",
    "RoundSchedule",
    "UnsupportedModelError",
    "calibrate_noise",
    "default_delta",
    "epsilon_for",
    "ledger_link",
    "membership_inference_auc",
    "noise_multiplier_for",
    "plan_round",
    "round_schedule",
    "train_private",
]
