"""Differential privacy at the partner: per-customer DP-SGD, accounting, a persistent budget.

Its names load their submodule when first used (PEP 562), as ``insight``'s do: a process that
only reads a run's settings or a ledger (``fedinsight coordinator run``, a node answering a
query) does not import torch and Opacus, which the training and the accountants bring.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from privacy.errors import (
    BudgetExceededError,
    LedgerError,
    PrivacyConfigError,
    PrivacyError,
    UnsupportedModelError,
)

if TYPE_CHECKING:
    from privacy.accounting import calibrate_noise, epsilon_for
    from privacy.budget import RoundDecision, noise_multiplier_for, plan_round
    from privacy.config import ENGINES, DPConfig, Engine, default_delta
    from privacy.delta import check_delta_bound, partner_delta
    from privacy.evaluation import EvaluationQuery, private_evaluation
    from privacy.ledger import LEDGER_GENESIS, LedgerEntry, PrivacyLedger, ledger_link
    from privacy.mia import membership_inference_auc
    from privacy.training import PrivateTrainStats, RoundSchedule, round_schedule, train_private
    from privacy.update_commitment import salted_update_hash, update_salt

_WHERE: dict[str, str] = {
    "calibrate_noise": "privacy.accounting",
    "epsilon_for": "privacy.accounting",
    "RoundDecision": "privacy.budget",
    "noise_multiplier_for": "privacy.budget",
    "plan_round": "privacy.budget",
    "ENGINES": "privacy.config",
    "DPConfig": "privacy.config",
    "Engine": "privacy.config",
    "default_delta": "privacy.config",
    "check_delta_bound": "privacy.delta",
    "partner_delta": "privacy.delta",
    "EvaluationQuery": "privacy.evaluation",
    "private_evaluation": "privacy.evaluation",
    "LEDGER_GENESIS": "privacy.ledger",
    "LedgerEntry": "privacy.ledger",
    "PrivacyLedger": "privacy.ledger",
    "ledger_link": "privacy.ledger",
    "membership_inference_auc": "privacy.mia",
    "PrivateTrainStats": "privacy.training",
    "RoundSchedule": "privacy.training",
    "round_schedule": "privacy.training",
    "train_private": "privacy.training",
    "salted_update_hash": "privacy.update_commitment",
    "update_salt": "privacy.update_commitment",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'privacy' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
