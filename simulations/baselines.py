"""The baselines every simulation computes beside the federated model, on the same customers.

- ``centralized``: the same model trained on pooled data, non-private, for the same number of
  epochs a partner trains in the whole run (rounds x local epochs).
- ``bgnbd``: BG/NBD fitted on the pooled calibration summary (Fader, Hardie & Lee 2005).
- ``naive``: each customer's calibration purchase rate times the holdout length.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from federation import RunDir, RunSettings, load_model_state
from insight import (
    CustomerSequenceModel,
    Predictions,
    bgnbd_expected_purchases,
    bgnbd_prob_any,
    calibration_summary,
    evaluate_model,
    fit_bgnbd,
    naive_rate,
    predict,
    prepare_partner,
    score_predictions,
    train,
)
from privacy import membership_inference_auc

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BaselineResults:
    metrics: dict[str, dict[str, float]]
    predictions: dict[str, Predictions]
    targets: pd.DataFrame
    frequency: np.ndarray
    bgnbd_params: dict[str, float]
    centralized_seconds: float
    per_round: dict[int, dict[str, float]]
    mia_auc: dict[str, float]


def run_baselines(
    events: pd.DataFrame,
    settings: RunSettings,
    run_dir: Path,
    *,
    non_members: pd.DataFrame | None = None,
) -> BaselineResults:
    """Score the federated model (every round's and the final) and the baselines on ``events``,
    the pooled customers every partner trained on (under --pii, those who consented): the
    researcher's view, which no coordinator has. They are the membership attack's members."""
    periods = settings.periods()
    features = settings.feature_config()
    data = prepare_partner("pooled", events, periods=periods, features=features)
    preds: dict[str, Predictions] = {}

    per_round: dict[int, dict[str, float]] = {}
    model = CustomerSequenceModel()
    files = RunDir(run_dir)
    for rnd, path in files.round_models().items():
        model.load_state_dict(load_model_state(path))
        per_round[rnd] = evaluate_model(model, data)
    # No model.pt: the federation trained no round (every partner refused), so there is no
    # federated model to score; the baselines are still computed.
    trained = files.model.exists()
    if trained:
        model.load_state_dict(load_model_state(files.model))
        preds["federated"] = predict(model, data.predict)

    torch.manual_seed(settings.seed)
    central = CustomerSequenceModel()
    cfg = settings.train_config(seed=settings.seed)
    # Same model, same number of passes over the data, non-private; a larger batch than the
    # partners' keeps this baseline quick on the pooled data (4x the customers of a partner).
    cfg = type(cfg)(
        epochs=settings.num_server_rounds * settings.local_epochs,
        batch_size=max(cfg.batch_size, 256),
        learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay,
        seed=cfg.seed,
    )
    stats = train(central, data.train, cfg)
    preds["centralized"] = predict(central, data.predict)

    summary = calibration_summary(events, periods).reindex(data.predict.customer_ids)
    x = summary["x"].to_numpy(float)
    t_x = summary["t_x"].to_numpy(float)
    big_t = summary["T"].to_numpy(float)
    monetary = summary["monetary"].to_numpy(float)
    horizon = settings.holdout_weeks
    params = fit_bgnbd(x, t_x, big_t)
    expected = bgnbd_expected_purchases(params, horizon, x, t_x, big_t)
    preds["bgnbd"] = Predictions(
        customer_ids=data.predict.customer_ids,
        prob_any=bgnbd_prob_any(params, horizon, x, t_x, big_t),
        expected_purchases=expected,
        expected_spend=expected * monetary,
    )
    naive = naive_rate(x, big_t, horizon)
    preds["naive"] = Predictions(
        customer_ids=data.predict.customer_ids,
        prob_any=naive,
        expected_purchases=naive,
        expected_spend=naive * monetary,
    )
    metrics = {name: score_predictions(p, data.targets) for name, p in preds.items()}
    mia: dict[str, float] = {}
    if non_members is not None and not non_members.empty:
        outsiders = prepare_partner(
            "non-members", non_members, periods=periods, features=features
        ).train
        if trained:
            mia["federated"] = membership_inference_auc(model, data.train, outsiders)
        mia["centralized"] = membership_inference_auc(central, data.train, outsiders)
    return BaselineResults(
        metrics=metrics,
        predictions=preds,
        targets=data.targets,
        frequency=x,
        bgnbd_params={
            "r": params.r,
            "alpha": params.alpha,
            "a": params.a,
            "b": params.b,
            "log_likelihood": params.log_likelihood,
        },
        centralized_seconds=stats.seconds,
        per_round=per_round,
        mia_auc=mia,
    )
