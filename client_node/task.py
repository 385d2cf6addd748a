"""The partner's work in a round, as plain functions testable without Flower.

A training round at a partner:

1. refuse if the node has seen a split view of the audit log (it no longer trusts the run), or
   if the run has no DP and the partner has a finite ε budget (a budget is never bypassed);
2. with DP on, take the partner's own δ (fixed in its ledger; a run asking another is refused)
   and plan the round against the partner's persistent ledger: a round that would take
   cumulative ε above the partner's budget is refused (a refusal, not an error);
3. train (DP-SGD over customers, or plain), record the round in the ledger *before* the update
   leaves the partner, and commit to the pseudonyms trained on (a Merkle root) and to the update
   (a hash salted with a secret the partner keeps, ``privacy.update_commitment``).

An evaluation is a charged query too (``evaluate_round``, ``privacy.evaluation``): the same
refusals, at most the run's ``planned_evaluations``, noised metrics, recorded before release.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from client_node.audit_canaries import canary_spec, plain_canaries, save_scores
from client_node.commitments import commit
from client_node.node_settings import NodeSettings
from client_node.node_state import NodeState
from client_node.witnessing import split_view_reason
from federation import (
    Metric,
    RunSettings,
    Status,
    dp_terms,
    partner_noise_multiplier,
    state_bytes,
)
from insight import (
    CustomerSequenceModel,
    PartnerData,
    TrainConfig,
    predict,
    train,
)
from privacy import (
    LEDGER_GENESIS,
    EvaluationQuery,
    LedgerEntry,
    PrivacyLedger,
    epsilon_for,
    partner_delta,
    plan_round,
    private_evaluation,
    round_schedule,
    salted_update_hash,
    train_private,
    update_salt,
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
    update_hash: str = ""  # salted with the partner's own secret; '' when not trained
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
    reason = no_dp_refusal(settings, node)
    if reason:
        return RoundOutcome(status=Status.REFUSED, reason=reason)
    config = settings.train_config(seed=settings.seed * 10_000 + server_round)
    model = CustomerSequenceModel()
    model.load_state_dict(global_state)
    # Metric.UNIT_WEIGHT: partner-level (central) DP aggregates with equal weights.
    metrics: dict[str, MetricValue] = {
        Metric.NUM_EXAMPLES: data.train.num_customers,
        Metric.UNIT_WEIGHT: 1,
    }
    statement_terms: dict[str, Any] = {}
    if settings.dp:
        outcome = _train_dp(model, data, settings, node, state, config, run_id, server_round)
        if isinstance(outcome, str):
            return RoundOutcome(status=Status.REFUSED, reason=outcome)
        metrics.update(outcome[0])
        statement_terms = outcome[1]
    else:
        audit = plain_canaries(state, model, data.train.num_customers, config)
        stats = train(model, data.train, config, on_gradients=audit[1] if audit else None)
        if audit:
            save_scores(state, run_id, server_round, audit[0].scores.tolist())
        metrics.update({Metric.TRAIN_STEPS: stats.steps, Metric.TRAIN_SECONDS: stats.seconds})
        metrics[Metric.TRAIN_LOSS] = stats.mean_loss
    commitment = commit(state, run_id, server_round, data.train.customer_ids.tolist())
    update = model.state_dict()
    salt = update_salt(state.root, run_id=run_id, server_round=server_round)
    return RoundOutcome(
        status=Status.TRAINED,
        state=update,
        metrics=metrics,
        commitment=commitment.root.hex(),
        update_hash=salted_update_hash(state_bytes(update), salt=salt),
        dp_terms=statement_terms,
    )


def no_dp_refusal(settings: RunSettings, node: NodeSettings) -> str:
    """Why a run without DP is refused ('' when DP is on, or the partner has no budget)."""
    if settings.dp or not math.isfinite(node.epsilon_budget):
        return ""
    return (
        f"refused: the run has dp = false, and this partner has an epsilon budget of "
        f"{node.epsilon_budget:g}: a partner with a budget never releases anything without DP"
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
    terms = dp_terms(settings).config(epsilon_budget=node.epsilon_budget)
    dp = dataclasses.replace(terms, engine=node.dp_engine)
    schedule = round_schedule(data.train, config)
    ledger = PrivacyLedger(state.ledger_path)
    delta = partner_delta(
        ledger,
        requested=settings.target_delta,
        configured=node.target_delta,
        num_customers=schedule.num_customers,
    )
    if isinstance(delta, str):
        return delta
    # Calibrated for the whole run's planned steps, so target-epsilon is the run's total; the
    # same function resolves the sigma the partner is shown when it approves the manifest.
    sigma = partner_noise_multiplier(settings, schedule.num_customers)
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
    spec = canary_spec(state)  # the partner's own privacy audit, when it has one
    stats = train_private(model, data.train, config, dp, noise_multiplier=sigma, canaries=spec)
    save_scores(state, run_id, server_round, stats.canary_scores)
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
    terms as the ledger recorded them, its ε alone and cumulative, the ledger chain, and the
    run's earlier ledger rows (``charges``: its earlier rounds and charged evaluations)."""
    heads = ledger.heads()
    entries = ledger.entries()
    row = [e.seq for e in entries].index(entry.seq)
    # Every earlier row of this run (its rounds and its charged evaluations), so that a verifier
    # composes the run's whole spend from what the partner signed.
    charges = [
        {
            "seq": e.seq,
            "noise_multiplier": float(e.noise_multiplier),
            "sample_rate": float(e.sample_rate),
            "steps": int(e.steps),
            "delta": float(e.delta),
            "accountant": e.accountant,
        }
        for e in entries[:row]
        if e.run_id in (entry.run_id, evaluation_ledger_run(entry.run_id))
    ]
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
        "charges": charges,
    }


def evaluation_ledger_run(run_id: str) -> str:
    """The ledger's run id of a run's charged evaluations (kept apart from its rounds)."""
    return f"{run_id}:evaluate"


def evaluate_round(
    global_state: StateDict,
    data: PartnerData,
    settings: RunSettings,
    node: NodeSettings,
    state: NodeState,
    *,
    run_id: str,
    server_round: int,
) -> RoundOutcome:
    """Evaluate the global model on this partner's holdout, as a charged query.

    Refused like a training round (no DP with a budget, another δ, over budget), and beyond the
    run's ``planned_evaluations``. With DP the metrics are noised (``privacy.evaluation``) and
    the release is recorded in the ledger, as run ``<run_id>:evaluate``, before it leaves.
    Without DP (a partner without a budget) they are exact but still aggregate-only: no totals.
    """
    torch.set_num_threads(1)
    reason = no_dp_refusal(settings, node)
    if reason:
        return RoundOutcome(status=Status.REFUSED, reason=reason)
    model = CustomerSequenceModel()
    model.load_state_dict(global_state)
    pred = predict(model, data.predict)
    targets = data.targets
    query = EvaluationQuery(
        pred_any=pred.prob_any.astype(float),
        pred_purchases=pred.expected_purchases.astype(float),
        pred_spend=pred.expected_spend.astype(float),
        actual_purchases=targets["purchases"].to_numpy(dtype=float),
        actual_spend=targets["spend"].to_numpy(dtype=float),
        any_repeat=targets["any_repeat"].to_numpy(dtype=bool),
    )
    if not settings.dp:
        released = private_evaluation(query, noise_multiplier=None)
    else:
        charged = _charge_evaluation(query, data, settings, node, state, run_id, server_round)
        if isinstance(charged, str):
            return RoundOutcome(status=Status.REFUSED, reason=charged)
        released = charged
    out: dict[str, MetricValue] = {Metric.NUM_EXAMPLES: int(released["n_customers"])}
    for key, value in released.items():
        if math.isfinite(value):
            out[key.replace("_", "-")] = value
    return RoundOutcome(status=Status.TRAINED, metrics=out)


def _charge_evaluation(
    query: EvaluationQuery,
    data: PartnerData,
    settings: RunSettings,
    node: NodeSettings,
    state: NodeState,
    run_id: str,
    server_round: int,
) -> dict[str, float] | str:
    """The noised metrics, recorded in the ledger; or why the evaluation is refused."""
    ledger = PrivacyLedger(state.ledger_path)
    delta = partner_delta(
        ledger,
        requested=settings.target_delta,
        configured=node.target_delta,
        num_customers=max(data.train.num_customers, 1),
    )
    if isinstance(delta, str):
        return delta
    charged_as = evaluation_ledger_run(run_id)
    done = sum(1 for e in ledger.entries() if e.run_id == charged_as)
    if done >= settings.planned_evaluations:
        return (
            f"refused: the run's manifest allows {settings.planned_evaluations} evaluation(s), "
            f"and this partner has answered {done}"
        )
    sigma = settings.evaluation_noise_multiplier
    accountant = dp_terms(settings).accountant
    decision = plan_round(
        ledger,
        noise_multiplier=sigma,
        sample_rate=1.0,
        steps=1,
        target_delta=delta,
        accountant=accountant,
        epsilon_budget=node.epsilon_budget,
    )
    if not decision.allowed:
        return decision.reason
    released = private_evaluation(query, noise_multiplier=sigma)
    ledger.record(
        run_id=charged_as,
        round=server_round,
        noise_multiplier=sigma,
        sample_rate=1.0,
        steps=1,
        target_delta=delta,
        accountant=accountant,
        epsilon_budget=node.epsilon_budget,
    )
    return released
