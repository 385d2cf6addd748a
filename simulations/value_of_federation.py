"""What federating was worth to each partner: the federated model against what it could do alone.

For every partner home of a simulation, on that partner's own data as its node prepares it
(pseudonymized, consented, not erased: ``client_node.data.ingest``, then
``insight.prepare_partner``), three forecasters are scored on the partner's own holdout
customers:

- ``federated``: the run's final global model;
- ``local_only``: the same model trained by the partner alone, from the same initial weights
  (``torch.manual_seed(seed)``, as the coordinator opens the run), for the same rounds and local
  epochs, each round with the same training config and, with DP on, the same DP-SGD (same noise
  multiplier, sample rate and steps, hence the same training ε as the partner spends in the
  federation): only the averaging with the other partners is missing;
- ``bgnbd_local``: BG/NBD fitted on the partner's own calibration summary.

Partners are trained one after the other in this process; a partner's local-only training
costs what its federated training cost (``report.json``'s per-round partner train seconds, times
the rounds).

Notes:
    This is a researcher's measurement: the local-only model is trained with the partner's data
    outside the partner's node and ledger (it spends no ε of the partner's real budget, and is
    never released). Metrics are the partner's alone and stay in the research report.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from anonymization import PartnerSchema
from client_node.data import ingest
from client_node.errors import ClientNodeError
from client_node.node_settings import NodeSettings
from client_node.node_state import NodeState
from client_node.source import RAW_FILE
from federation import RunDir, RunSettings, dp_terms, load_model_state, partner_noise_multiplier
from insight import (
    CustomerSequenceModel,
    InsightError,
    PartnerData,
    Predictions,
    bgnbd_expected_purchases,
    bgnbd_prob_any,
    calibration_summary,
    fit_bgnbd,
    predict,
    prepare_partner,
    score_predictions,
    train,
)
from privacy import PrivacyError, train_private

logger = logging.getLogger(__name__)

FORECASTERS = ("federated", "local_only", "bgnbd_local")
VALUE_METRICS = ("auc_any_repeat", "corr_purchases", "mae_purchases")

Table = dict[str, dict[str, float]]


def value_of_federation(run_dir: Path, settings: RunSettings) -> dict[str, Table]:
    """``{partner: {forecaster: {metric: value}}}`` (see module doc); ``{}`` when the run left
    no final model; a partner whose data cannot be prepared or trained on is left out (with a
    warning). A metric that is undefined on a partner's customers (one class only) is
    left out; ``n_customers`` is always there."""
    files = RunDir(run_dir)
    if not files.model.exists():
        return {}
    federated = CustomerSequenceModel()
    federated.load_state_dict(load_model_state(files.model))
    out: dict[str, Table] = {}
    for home in sorted(p for p in files.partner_homes.iterdir() if (p / RAW_FILE).exists()):
        try:
            data, events = _partner_data(home, settings)
            preds = {
                "federated": predict(federated, data.predict),
                "local_only": predict(train_alone(data, settings), data.predict),
                "bgnbd_local": _bgnbd_local(events, data, settings),
            }
        except (ClientNodeError, InsightError, PrivacyError) as exc:
            logger.warning("value of federation not measured for %s: %s", home.name, exc)
            continue
        out[home.name] = {n: _pick(score_predictions(p, data.targets)) for n, p in preds.items()}
        logger.info("value of federation measured for %s", home.name)
    return out


def train_alone(data: PartnerData, settings: RunSettings) -> CustomerSequenceModel:
    """The global model's architecture and initial weights, trained on ``data.train`` alone
    with the federation's per-round schedule (see module doc)."""
    torch.manual_seed(settings.seed)
    model = CustomerSequenceModel()
    sigma = 0.0
    if settings.dp:
        dp = dp_terms(settings).config(epsilon_budget=math.inf)
        dp = dataclasses.replace(dp, engine=NodeSettings(epsilon_budget=math.inf).dp_engine)
        sigma = partner_noise_multiplier(settings, int(data.train.valid.any(axis=1).sum()))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as a partner trains in a round (client_node.task)
    try:
        for server_round in range(1, settings.num_server_rounds + 1):
            config = settings.train_config(seed=settings.seed * 10_000 + server_round)
            if settings.dp:
                train_private(model, data.train, config, dp, noise_multiplier=sigma)
            else:
                train(model, data.train, config)
    finally:
        torch.set_num_threads(threads)  # the baselines after this train as before
    return model


def _partner_data(home: Path, settings: RunSettings) -> tuple[PartnerData, pd.DataFrame]:
    schema_path = Path(settings.schema_path) if settings.schema_path else None
    schema = PartnerSchema.load(schema_path) if schema_path else PartnerSchema("customer_id")
    events = ingest(home / RAW_FILE, schema, NodeState(home))
    data = prepare_partner(
        home.name, events, periods=settings.periods(), features=settings.feature_config()
    )
    return data, events


def _bgnbd_local(events: pd.DataFrame, data: PartnerData, settings: RunSettings) -> Predictions:
    summary = calibration_summary(events, settings.periods()).reindex(data.predict.customer_ids)
    x = summary["x"].to_numpy(float)
    t_x = summary["t_x"].to_numpy(float)
    big_t = summary["T"].to_numpy(float)
    params = fit_bgnbd(x, t_x, big_t)
    horizon = settings.holdout_weeks
    expected = bgnbd_expected_purchases(params, horizon, x, t_x, big_t)
    prob_any = bgnbd_prob_any(params, horizon, x, t_x, big_t)
    if not (np.isfinite(expected).all() and np.isfinite(prob_any).all()):
        # A forecast that is not finite leaves this partner out of the table instead of ending
        # the run at its last step (as a degenerate fit once did, before the forecast's form
        # was made finite for large a and b: insight.baselines.bgnbd_expected_purchases).
        raise InsightError(
            f"BG/NBD fitted on this partner's {len(x)} customers gives no finite forecast "
            f"(a={params.a:.3g}, b={params.b:.3g})"
        )
    return Predictions(
        customer_ids=data.predict.customer_ids,
        prob_any=prob_any,
        expected_purchases=expected,
        expected_spend=expected * summary["monetary"].to_numpy(float),
    )


def _pick(metrics: dict[str, float]) -> dict[str, float]:
    kept = {k: metrics[k] for k in VALUE_METRICS if k in metrics}
    kept["n_customers"] = metrics.get("n_customers", 0.0)
    return kept


def goal_misses(
    table: dict[str, Table], shares: dict[str, float], *, max_share: float = 0.2
) -> list[str]:
    """The partners holding at most ``max_share`` of the customers whose federated AUC is below
    their local-only AUC (the issue's goal: none)."""
    misses = []
    for name, row in sorted(table.items()):
        fed = row.get("federated", {}).get("auc_any_repeat")
        alone = row.get("local_only", {}).get("auc_any_repeat")
        small = shares.get(name, 1.0) <= max_share
        if small and fed is not None and alone is not None and fed < alone:
            misses.append(name)
    return misses
