"""The partner's work in a round, as plain functions testable without Flower.

A training round at a partner:

1. refuse if the node has seen a split view of the audit log (it no longer trusts the run);
2. with DP on, plan the round against the partner's persistent ledger: a round that would take
   cumulative ε above the partner's budget is refused (a refusal, not an error);
3. train (DP-SGD over customers, or plain), record the round in the ledger *before* the update
   leaves the partner, and commit to the pseudonyms trained on (a Merkle root).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from client_node.commitments import commit
from client_node.node_settings import NodeSettings
from client_node.node_state import NodeState
from client_node.witnessing import split_view_reason
from federation import Metric, RunSettings, Status, dp_terms, partner_noise_multiplier
from insight import (
    CustomerSequenceModel,
    PartnerData,
    TrainConfig,
    evaluate_model,
    train,
)
from privacy import (
    LEDGER_GENESIS,
    LedgerEntry,
    PrivacyLedger,
    epsilon_for,
    plan_round,
    round_schedule,
    train_private,
)

logger = logging.getLogger(__name__)

StateDict = dict[str, torch.Tensor]
MetricValue = int | float | list[int] | list[float]


@dataclass(frozen=True)
class RoundOutcome:
    """``status`` is ``Status.TRAINED`` (``state`` set) or ``Status.REFUSED`` (``reason`` set)."""

    status: str
    state: StateDict | None = None
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    reason: str = ""
    commitment: str = ""
    dp_terms: dict[str, Any] = field(default_factory=dict)  # the statement's DP fields


def train_round(
    global_state: StateDict,
    data: PartnerData,
    settings: RunSettings,
    node: NodeSettings,
    state: NodeState,
    *,
    run_id: str,
    server_round: int,
) -> RoundOutcome:
    torch.set_num_threads(1)
    reason = split_view_reason(state)
    if reason:
        return RoundOutcome(status=Status.REFUSED, reason=f"split view of the audit log: {reason}")
    config = settings.train_config(seed=settings.seed * 10_000 + server_round)
    model = CustomerSequenceModel()
    model.load_state_dict(global_state)
    # Metric.UNIT_WEIGHT: partner-level (central) DP aggregates with equal weights.
    metrics: dict[str, MetricValue] = {
        Metric.NUM_EXAMPLES: data.train.num_customers,
        Metric.UNIT_WEIGHT: 1,
    }
    dp_terms: dict[str, Any] = {}
    if settings.dp:
        outcome = _train_dp(model, data, settings, node, state, config, run_id, server_round)
        if isinstance(outcome, str):
            return RoundOutcome(status=Status.REFUSED, reason=outcome)
        metrics.update(outcome[0])
        dp_terms = outcome[1]
    else:
        stats = train(model, data.train, config)
        metrics.update({Metric.TRAIN_STEPS: stats.steps, Metric.TRAIN_SECONDS: stats.seconds})
        metrics[Metric.TRAIN_LOSS] = stats.mean_loss
    commitment = commit(state, run_id, server_round, data.train.customer_ids.tolist())
    return RoundOutcome(
        status=Status.TRAINED,
        state=model.state_dict(),
        metrics=metrics,
        commitment=commitment.root.hex(),
        dp_terms=dp_terms,
    )


def _train_dp(
    model: CustomerSequenceModel,
    data: PartnerData,
    settings: RunSettings,
    node: NodeSettings,
    state: NodeState,
    config: TrainConfig,
    run_id: str,
    server_round: int,
) -> tuple[dict[str, MetricValue], dict[str, Any]] | str:
    if not settings.noise_multiplier and settings.target_epsilon > node.epsilon_budget:
        return (
            f"refused: the run plans epsilon {settings.target_epsilon:g}, above this partner's "
            f"budget of {node.epsilon_budget:g}"
        )
    dp = dp_terms(settings).config(epsilon_budget=node.epsilon_budget)
    schedule = round_schedule(data.train, config)
    delta = dp.delta_for(schedule.num_customers)
    # Calibrated for the whole run's planned steps, so target-epsilon is the run's total; the
    # same function resolves the sigma the partner is shown when it approves the manifest.
    sigma = partner_noise_multiplier(settings, schedule.num_customers)
    ledger = PrivacyLedger(state.ledger_path)
    decision = plan_round(
        ledger,
        noise_multiplier=sigma,
        sample_rate=schedule.sample_rate,
        steps=schedule.steps,
        target_delta=delta,
        accountant=dp.accountant,
        epsilon_budget=dp.epsilon_budget,
    )
    if not decision.allowed:
        return decision.reason
    stats = train_private(model, data.train, config, dp, noise_multiplier=sigma)
    entry = ledger.record(
        run_id=run_id,
        round=server_round,
        noise_multiplier=sigma,
        sample_rate=schedule.sample_rate,
        steps=stats.steps,
        target_delta=delta,
        accountant=dp.accountant,
        epsilon_budget=dp.epsilon_budget,
    )
    cumulative = float(entry.epsilon_after)
    metrics: dict[str, MetricValue] = {
        Metric.TRAIN_STEPS: stats.steps,
        Metric.TRAIN_SECONDS: stats.seconds,
        Metric.NOISE_MULTIPLIER: sigma,
        Metric.SAMPLE_RATE: schedule.sample_rate,
        Metric.TARGET_DELTA: delta,
        Metric.EPSILON_SPENT: max(cumulative - decision.epsilon_before, 0.0),
        Metric.EPSILON_CUMULATIVE: cumulative,
        Metric.EPSILON_BUDGET: dp.epsilon_budget,
    }
    return metrics, _statement_terms(ledger, entry, dp.epsilon_budget)


def _statement_terms(ledger: PrivacyLedger, entry: LedgerEntry, budget: float) -> dict[str, Any]:
    """The DP fields of the round's signed statement (``audit.sign_statement``): the round's
    terms as the ledger recorded them, its ε alone and cumulative, and the ledger chain."""
    heads = ledger.heads()
    seqs = [e.seq for e in ledger.entries()]
    row = seqs.index(entry.seq)
    return {
        "noise_multiplier": float(entry.noise_multiplier),
        "sample_rate": float(entry.sample_rate),
        "steps": int(entry.steps),
        "delta": float(entry.delta),
        "accountant": entry.accountant,
        "epsilon": float(
            epsilon_for(
                [(entry.noise_multiplier, entry.sample_rate, entry.steps)],
                target_delta=entry.delta,
                accountant=entry.accountant,  # type: ignore[arg-type]
            )
        ),
        "epsilon_cumulative": float(entry.epsilon_after),
        "epsilon_budget": float(budget),
        "ledger_seq": entry.seq,
        "ledger_prev": heads[row - 1] if row else LEDGER_GENESIS,
        "ledger_head": heads[row],
    }


def evaluate_round(global_state: StateDict, data: PartnerData) -> dict[str, MetricValue]:
    """Evaluate the global model on this partner's own customers (holdout targets).

    Notes:
        Evaluation releases aggregate metrics of the partner's holdout period without noise;
        they are not covered by the DP accounting (as in the usual DP-FL practice).
    """
    torch.set_num_threads(1)
    model = CustomerSequenceModel()
    model.load_state_dict(global_state)
    out: dict[str, MetricValue] = {Metric.NUM_EXAMPLES: data.predict.num_customers}
    for key, value in evaluate_model(model, data).items():
        if math.isfinite(value):
            out[key.replace("_", "-")] = value
    return out
