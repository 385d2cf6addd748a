"""Differential privacy at the partner: per-customer DP-SGD, accounting, a persistent budget."""

from privacy.accounting import calibrate_noise, epsilon_for
from privacy.budget import RoundDecision, noise_multiplier_for, plan_round
from privacy.config import ENGINES, DPConfig, Engine, default_delta
from privacy.delta import check_delta_bound, partner_delta
from privacy.errors import (
    BudgetExceededError,
    LedgerError,
    PrivacyConfigError,
    PrivacyError,
    UnsupportedModelError,
)
from privacy.evaluation import EvaluationQuery, private_evaluation
from privacy.ledger import LEDGER_GENESIS, LedgerEntry, PrivacyLedger, ledger_link
from privacy.mia import membership_inference_auc
from privacy.training import PrivateTrainStats, RoundSchedule, round_schedule, train_private
from privacy.update_commitment import salted_update_hash, update_salt

__all__ = [
    "ENGINES",
    "LEDGER_GENESIS",
    "BudgetExceededError",
    "DPConfig",
    "Engine",
    "EvaluationQuery",
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
    "check_delta_bound",
    "default_delta",
    "epsilon_for",
    "ledger_link",
    "membership_inference_auc",
    "noise_multiplier_for",
    "partner_delta",
    "plan_round",
    "private_evaluation",
    "round_schedule",
    "salted_update_hash",
    "train_private",
    "update_salt",
]
