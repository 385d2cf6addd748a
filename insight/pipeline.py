"""From one party's events to model-ready windows and holdout targets, and model evaluation."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from insight.errors import InsightError
from insight.features import (
    FeatureConfig,
    WindowSet,
    build_prediction_windows,
    build_training_windows,
    drop_before,
)
from insight.metrics import evaluate, roc_auc
from insight.models import CustomerSequenceModel
from insight.protocol import Periods, collapse_daily, holdout_targets, truncate_events
from insight.training import Predictions, predict

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartnerData:
    """What one party trains and evaluates on. ``targets`` is aligned with ``predict``."""

    name: str
    train: WindowSet
    predict: WindowSet
    targets: pd.DataFrame
    dropped_before_start: int = 0  # day-collapsed events before ``periods.calibration_start``


def prepare_partner(
    name: str, events: pd.DataFrame, *, periods: Periods, features: FeatureConfig
) -> PartnerData:
    """Windows from calibration events only; holdout targets separately, for evaluation.

    With ``periods.calibration_start``, events before it are dropped (and counted in
    ``dropped_before_start``) and the training windows are cut from that public date, so that
    no customer's data moves another customer's windows.

    Raises:
        InsightError: ``events`` has nothing in the calibration period.
    """
    daily, dropped = drop_before(collapse_daily(events), periods.calibration_start)
    if dropped:
        logger.warning("%s: %d customer-days before calibration-start dropped", name, dropped)
    calibration = truncate_events(daily, periods.calibration_end)
    if calibration.empty:
        raise InsightError(f"{name} has no events in the calibration period")
    train = build_training_windows(
        calibration,
        calibration_end=periods.calibration_end,
        config=features,
        calibration_start=periods.calibration_start,
    ).trainable()
    forecast = build_prediction_windows(
        calibration,
        calibration_end=periods.calibration_end,
        horizon_weeks=(periods.holdout_end - periods.calibration_end) / pd.Timedelta(days=7),
        config=features,
    )
    targets = holdout_targets(daily, periods).reindex(forecast.customer_ids)
    logger.info("%s: %d customers, %d trainable", name, forecast.num_customers, train.num_customers)
    return PartnerData(
        name=name,
        train=train,
        predict=forecast,
        targets=targets,
        dropped_before_start=dropped,
    )


def evaluate_model(model: CustomerSequenceModel, data: PartnerData) -> dict[str, float]:
    """The holdout metrics of ``model`` on ``data``'s customers (finite values only)."""
    pred = predict(model, data.predict)
    return score_predictions(pred, data.targets)


def score_predictions(pred: Predictions, targets: pd.DataFrame) -> dict[str, float]:
    metrics = evaluate(
        pred_any=pred.prob_any,
        pred_purchases=pred.expected_purchases,
        pred_spend=pred.expected_spend,
        actual=targets,
    )
    # The literature often ranks customers by expected purchases rather than P(any purchase);
    # both AUCs are reported so figures from either convention can be compared.
    metrics["auc_by_expected_purchases"] = roc_auc(
        pred.expected_purchases, targets["any_repeat"].to_numpy(bool)
    )
    return {k: float(v) for k, v in metrics.items() if np.isfinite(float(v))}
