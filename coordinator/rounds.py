"""The coordinator's round loop.

Flower's ``Strategy.start`` runs all rounds in one call; fedinsight drives the rounds itself with
the strategy's own ``configure_*``/``aggregate_*`` steps, so that between two rounds it can:

- sort the replies into updates, refusals (a partner out of privacy budget, or one that saw a
  split view of the audit log) and failures, and stop selecting partners that refused;
- reject an update that is not finite or has the wrong shapes before aggregation;
- save the global model with its sha256, keep the mirror ledger of the ε each partner reported,
  append the round's record to the audit log and have the partners cosign it;
- report progress. The run ends cleanly when no partner is left to train.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import (
    DifferentialPrivacyServerSideFixedClipping,
    FedAvg,
    Strategy,
)

from coordinator.audit_trail import AuditTrail, hello, now
from coordinator.errors import NoPartnersError
from coordinator.model_store import save_model, state_bytes, state_sha256
from coordinator.progress import ProgressLog
from insight import CustomerSequenceModel, RunSettings, architecture_hash
from privacy import epsilon_for

logger = logging.getLogger(__name__)


@dataclass
class RoundRecord:
    round: int
    participants: list[str]
    refusals: dict[str, str]
    failures: list[str]
    rejected: dict[str, str]
    model_sha256_before: str
    model_sha256_after: str
    epsilon: dict[str, dict[str, float]]
    central_epsilon: float | None
    train: dict[str, float]
    evaluate: dict[str, float]
    seconds: float
    train_phase_seconds: float
    max_partner_train_seconds: float
    sum_partner_train_seconds: float


@dataclass
class FederationResult:
    rounds: list[RoundRecord] = field(default_factory=list)
    final_model_sha256: str = ""
    architecture_sha256: str = ""
    stopped_early: str = ""
    audit: dict[str, Any] = field(default_factory=dict)
    central: dict[str, Any] = field(default_factory=dict)


def _partner_name(msg: Message) -> str:
    cfg = msg.content.config_records.get("partner")
    if cfg is not None and "name" in cfg:
        return str(cfg["name"])
    return f"node-{msg.metadata.src_node_id}"


def _metrics(record: MetricRecord | None) -> dict[str, float]:
    if record is None:
        return {}
    return {k: float(v) for k, v in record.items() if isinstance(v, (int, float))}


def average_metrics(replies: Iterable[Message]) -> dict[str, float]:
    """Partners' evaluation metrics averaged, weighted by their customers, over the keys every
    partner reported (a partner too small for a metric leaves that metric out)."""
    rows = [_metrics(m.content.metric_records.get("metrics")) for m in replies]
    rows = [r for r in rows if r.get("num-examples", 0) > 0]
    if not rows:
        return {}
    keys = set.intersection(*(set(r) for r in rows)) - {"num-examples"}
    total = sum(r["num-examples"] for r in rows)
    out = {k: sum(r[k] * r["num-examples"] for r in rows) / total for k in sorted(keys)}
    out["num-examples"] = total
    return out


def _train_seconds(msg: Message) -> float:
    value = msg.content.metric_records["metrics"].get("train-seconds", 0.0)
    return float(value) if isinstance(value, (int, float)) else 0.0


@dataclass
class SortedReplies:
    updates: list[Message] = field(default_factory=list)
    refusals: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)


def check_update(arrays: ArrayRecord, reference: dict[str, torch.Tensor]) -> str:
    """Why an update must not be aggregated ('' when it may): wrong keys, shapes, non-finite."""
    state = arrays.to_torch_state_dict()
    if set(state) != set(reference):
        return "its parameters do not match the model's"
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(reference[key].shape):
            expected = tuple(reference[key].shape)
            return f"parameter {key} has shape {tuple(tensor.shape)}, not {expected}"
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return f"parameter {key} is not finite"
    return ""


def sort_replies(replies: Iterable[Message], reference: dict[str, torch.Tensor]) -> SortedReplies:
    out = SortedReplies()
    for msg in replies:
        if msg.has_error():
            reason = (msg.error.reason or "")[:500]
            logger.warning("node %s failed: %s", msg.metadata.src_node_id, reason)
            out.failures.append(f"node-{msg.metadata.src_node_id}")
            continue
        name = _partner_name(msg)
        partner = msg.content.config_records.get("partner")
        status = str(partner.get("status", "trained")) if partner is not None else "trained"
        if status == "refused":
            reason = str(partner.get("reason", "")) if partner is not None else ""
            logger.info("partner %s refused: %s", name, reason)
            out.refusals[name] = reason
            continue
        arrays = msg.content.array_records.get("arrays")
        problem = "no update" if arrays is None else check_update(arrays, reference)
        if problem:
            logger.warning("update of %s rejected: %s", name, problem)
            out.rejected[name] = problem
            continue
        out.updates.append(msg)
    return out


def make_strategy(settings: RunSettings, num_partners: int) -> Strategy:
    """FedAvg weighted by customers; with ``central-dp``, wrapped in Flower's server-side
    fixed-clipping DP strategy over equal weights (partner-level DP).

    ``min-partners`` is checked once, before the first round (the coordinator waits for that
    many); later rounds go on with whoever may still train, so the sampling minimums are 1
    (Flower's sampler would otherwise wait for refused partners).
    """
    fedavg = FedAvg(
        fraction_train=settings.fraction_train,
        fraction_evaluate=1.0,
        min_train_nodes=1,
        min_evaluate_nodes=1,
        min_available_nodes=1,
        weighted_by_key="unit-weight" if settings.central_dp else "num-examples",
    )
    if not settings.central_dp:
        return fedavg
    return DifferentialPrivacyServerSideFixedClipping(
        fedavg,
        noise_multiplier=settings.central_noise_multiplier,
        clipping_norm=settings.central_clipping_norm,
        num_sampled_clients=num_partners,
    )


def wait_for_nodes(grid: Grid, minimum: int, timeout: float = 300.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        nodes = list(grid.get_node_ids())
        if len(nodes) >= minimum or time.monotonic() > deadline:
            return nodes
        time.sleep(1.0)


class _ActiveGrid:
    """The grid as the strategy sees it: only partners that may still train."""

    def __init__(self, grid: Grid, excluded: set[int]) -> None:
        self._grid = grid
        self.excluded = excluded

    def get_node_ids(self) -> list[int]:
        return [n for n in self._grid.get_node_ids() if n not in self.excluded]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._grid, name)


def run_federation(
    grid: Grid,
    settings: RunSettings,
    run_dir: Path,
    audit: AuditTrail,
    *,
    round_timeout: float = 3600.0,
) -> FederationResult:
    """Run up to ``settings.num_server_rounds`` rounds; see module doc."""
    torch.manual_seed(settings.seed)
    model = CustomerSequenceModel()
    reference = {k: v.clone() for k, v in model.state_dict().items()}
    arrays = ArrayRecord(model.state_dict())
    progress = ProgressLog(run_dir / "progress.jsonl")
    ledger_path = run_dir / "epsilon_ledger.jsonl"
    result = FederationResult(architecture_sha256=architecture_hash(model))
    node_ids = wait_for_nodes(grid, settings.min_partners)
    partners = hello(grid, node_ids, audit.log.origin)
    if len(partners) < settings.min_partners:
        raise NoPartnersError(
            f"{len(partners)} partner(s) answered, fewer than min-partners={settings.min_partners}"
        )
    nodes = {name: nid for name, (nid, _) in partners.items()}
    strategy = make_strategy(settings, len(nodes))
    central = CentralLedger(settings)
    audit.start(
        grid,
        nodes,
        {name: vkey for name, (_, vkey) in partners.items()},
        settings=settings,
        arch_hash=result.architecture_sha256,
    )
    progress.write("start", rounds=settings.num_server_rounds, partners=sorted(nodes))
    active = _ActiveGrid(grid, set())
    cumulative: dict[str, float] = {}
    budgets: dict[str, float] = {}
    before = state_sha256(arrays.to_torch_state_dict())
    done_rounds = 0
    for rnd in range(1, settings.num_server_rounds + 1):
        if not active.get_node_ids():
            result.stopped_early = "no partner has privacy budget left"
            break
        t0 = time.perf_counter()
        started = now()
        train_cfg = ConfigRecord({"local-epochs": settings.local_epochs})
        replies = grid.send_and_receive(
            strategy.configure_train(rnd, arrays, train_cfg, active),  # type: ignore[arg-type]
            timeout=round_timeout,
        )
        sorted_replies = sort_replies(replies, reference)
        train_phase = time.perf_counter() - t0
        for name in sorted_replies.refusals:
            if name in nodes:
                active.excluded.add(nodes[name])
        ok = sorted_replies.updates
        sampled = len(ok) + len(sorted_replies.refusals) + len(sorted_replies.failures)
        sampled += len(sorted_replies.rejected)
        if settings.central_dp and ok and len(ok) < sampled:
            # Noise is calibrated to the sampled partners' average: releasing an average of
            # fewer would weaken the guarantee. The round is not released; nothing is spent.
            logger.warning(
                "central DP: %d of %d sampled partners gave an update; round %d not released",
                len(ok),
                sampled,
                rnd,
            )
            progress.write("skipped", round=rnd, reason="central DP needs every sampled partner")
            audit.round(
                grid,
                nodes,
                **_round_fields(
                    rnd, [], sorted_replies, {}, before, before, cumulative, budgets, {}, started
                ),
            )
            done_rounds = rnd
            continue
        if not ok:
            if sorted_replies.refusals and not sorted_replies.failures:
                result.stopped_early = "every partner refused (privacy budget or split view)"
                progress.write("stopped", round=rnd, reason=result.stopped_early)
                audit.round(
                    grid,
                    nodes,
                    **_round_fields(
                        rnd,
                        [],
                        sorted_replies,
                        {},
                        before,
                        before,
                        cumulative,
                        budgets,
                        {},
                        started,
                    ),
                )
                done_rounds = rnd
                break
            raise NoPartnersError(
                f"round {rnd}: no usable update ({len(sorted_replies.failures)} failed, "
                f"{len(sorted_replies.rejected)} rejected, {len(sorted_replies.refusals)} refused)"
            )
        if isinstance(strategy, DifferentialPrivacyServerSideFixedClipping):
            strategy.num_sampled_clients = len(ok)
        new_arrays, train_metrics = strategy.aggregate_train(rnd, ok)
        if new_arrays is None:
            raise NoPartnersError(f"round {rnd}: no update could be aggregated")
        central.release()
        arrays = new_arrays
        after = save_model(arrays.to_torch_state_dict(), run_dir / "models" / f"round-{rnd:03d}.pt")
        spent: dict[str, float] = {}
        update_hashes: dict[str, str] = {}
        commitments: dict[str, str] = {}
        for msg in ok:
            name = _partner_name(msg)
            m = _metrics(msg.content.metric_records["metrics"])
            if "epsilon-cumulative" in m:
                spent[name] = m["epsilon-spent"]
                cumulative[name] = m["epsilon-cumulative"]
                budgets[name] = m["epsilon-budget"]
            update_hashes[name] = hashlib.sha256(
                state_bytes(msg.content.array_records["arrays"].to_torch_state_dict())
            ).hexdigest()
            partner = msg.content.config_records["partner"]
            commitments[name] = str(partner.get("commitment", ""))
        _append_ledger(ledger_path, rnd, spent, cumulative, budgets, sorted_replies.refusals)
        audit.round(
            grid,
            nodes,
            **_round_fields(
                rnd,
                [_partner_name(m) for m in ok],
                sorted_replies,
                update_hashes,
                before,
                after,
                cumulative,
                budgets,
                commitments,
                started,
                spent=spent,
            ),
        )
        eval_replies = grid.send_and_receive(
            strategy.configure_evaluate(rnd, arrays, ConfigRecord(), grid), timeout=round_timeout
        )
        eval_metrics = average_metrics(m for m in eval_replies if not m.has_error())
        partner_seconds = [_train_seconds(m) for m in ok]
        record = RoundRecord(
            round=rnd,
            participants=sorted(_partner_name(m) for m in ok),
            refusals=sorted_replies.refusals,
            failures=sorted(sorted_replies.failures),
            rejected=sorted_replies.rejected,
            model_sha256_before=before,
            model_sha256_after=after,
            epsilon={
                name: {
                    "spent": spent.get(name, 0.0),
                    "cumulative": cumulative[name],
                    "budget": budgets[name],
                }
                for name in cumulative
            },
            central_epsilon=central.epsilon(),
            train=_metrics(train_metrics),
            evaluate=eval_metrics,
            seconds=time.perf_counter() - t0,
            train_phase_seconds=train_phase,
            max_partner_train_seconds=max(partner_seconds, default=0.0),
            sum_partner_train_seconds=sum(partner_seconds),
        )
        result.rounds.append(record)
        progress.write("round", **record.__dict__)
        logger.info("round %d done in %.1fs", rnd, record.seconds)
        before = after
        done_rounds = rnd
    result.final_model_sha256 = save_model(arrays.to_torch_state_dict(), run_dir / "model.pt")
    audit.end(grid, nodes, final_model_hash=result.final_model_sha256, rounds=done_rounds)
    result.audit = audit.summary()
    result.central = central.summary()
    progress.write(
        "end", final_model_sha256=result.final_model_sha256, stopped_early=result.stopped_early
    )
    return result


class CentralLedger:
    """Partner-level ε of the released global models under central DP.

    Every partner is in every released average (no sampling amplification), so after ``k``
    releases the Gaussian mechanism with noise multiplier ``z`` has been composed ``k`` times:
    ε = ε_RDP(z, q=1, k) at ``target-delta``. A round that is not released spends nothing.
    """

    def __init__(self, settings: RunSettings) -> None:
        self.settings = settings
        self.releases = 0

    def release(self) -> None:
        if self.settings.central_dp:
            self.releases += 1

    def epsilon(self) -> float | None:
        if not self.settings.central_dp:
            return None
        if self.releases == 0:
            return 0.0
        return float(
            epsilon_for(
                [(self.settings.central_noise_multiplier, 1.0, self.releases)],
                target_delta=self.settings.target_delta,
                accountant="rdp",
            )
        )

    def summary(self) -> dict[str, Any]:
        if not self.settings.central_dp:
            return {}
        return {
            "noise_multiplier": self.settings.central_noise_multiplier,
            "clipping_norm": self.settings.central_clipping_norm,
            "releases": self.releases,
            "epsilon": self.epsilon(),
            "delta": self.settings.target_delta,
        }


def _round_fields(
    rnd: int,
    participants: list[str],
    replies: SortedReplies,
    update_hashes: dict[str, str],
    before: str,
    after: str,
    cumulative: dict[str, float],
    budgets: dict[str, float],
    commitments: dict[str, str],
    started: str,
    *,
    spent: dict[str, float] | None = None,
) -> dict[str, Any]:
    dropouts = sorted(set(replies.failures) | set(replies.rejected))
    return {
        "round_number": rnd,
        "participants": participants,
        "dropouts": dropouts,
        "refusals": sorted(replies.refusals),
        "update_hashes": update_hashes,
        "model_hash_before": before,
        "model_hash_after": after,
        "epsilon_spent": spent or {},
        "epsilon_cumulative": dict(cumulative),
        "epsilon_budget": dict(budgets),
        "data_commitments": commitments,
        "started_at": started,
        "ended_at": now(),
    }


def _append_ledger(
    path: Path,
    rnd: int,
    spent: dict[str, float],
    cumulative: dict[str, float],
    budgets: dict[str, float],
    refusals: dict[str, str],
) -> None:
    """The coordinator's mirror of what each partner reported (append-only JSON lines)."""
    with path.open("a", encoding="utf-8") as fh:
        for name in sorted(set(cumulative) | set(refusals)):
            entry = {
                "round": rnd,
                "partner": name,
                "status": "refused" if name in refusals else "trained",
                "epsilon_spent": spent.get(name, 0.0),
                "epsilon_cumulative": cumulative.get(name),
                "epsilon_budget": budgets.get(name),
            }
            fh.write(json.dumps(entry, sort_keys=True) + "\n")


def summarize(result: FederationResult) -> dict[str, Any]:
    return {
        "final_model_sha256": result.final_model_sha256,
        "architecture_sha256": result.architecture_sha256,
        "stopped_early": result.stopped_early,
        "audit": result.audit,
        "central_dp": result.central,
        "rounds": [r.__dict__ for r in result.rounds],
    }
