"""The coordinator's round loop.

Flower's ``Strategy.start`` runs all rounds in one call; fedinsight drives the rounds itself with
the strategy's own ``configure_*``/``aggregate_*`` steps, so that between two rounds it can save
the global model with its hash, record who took part and who failed, and report progress.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg

from coordinator.errors import NoPartnersError
from coordinator.model_store import save_model, state_sha256
from coordinator.progress import ProgressLog
from insight import CustomerSequenceModel, RunSettings, architecture_hash

logger = logging.getLogger(__name__)


@dataclass
class RoundRecord:
    round: int
    participants: list[str]
    failures: list[str]
    model_sha256_before: str
    model_sha256_after: str
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


def _partner_name(msg: Message) -> str:
    cfg = msg.content.config_records.get("partner")
    if cfg is not None and "name" in cfg:
        return str(cfg["name"])
    return f"node-{msg.metadata.src_node_id}"


def _metrics(record: MetricRecord | None) -> dict[str, float]:
    if record is None:
        return {}
    out: dict[str, float] = {}
    for key, value in record.items():
        if isinstance(value, (int, float)):
            out[key] = float(value)
    return out


def _train_seconds(msg: Message) -> float:
    value = msg.content.metric_records["metrics"].get("train-seconds", 0.0)
    return float(value) if isinstance(value, (int, float)) else 0.0


def split_replies(replies: Iterable[Message]) -> tuple[list[Message], list[str]]:
    """Replies that carry content, and the names of the nodes that answered with an error."""
    ok: list[Message] = []
    failed: list[str] = []
    for msg in replies:
        if msg.has_error():
            reason = (msg.error.reason or "")[:500]
            logger.warning("node %s failed: %s", msg.metadata.src_node_id, reason)
            failed.append(f"node-{msg.metadata.src_node_id}")
        else:
            ok.append(msg)
    return ok, failed


def make_strategy(settings: RunSettings) -> FedAvg:
    return FedAvg(
        fraction_train=settings.fraction_train,
        fraction_evaluate=1.0,
        min_train_nodes=settings.min_partners,
        min_evaluate_nodes=settings.min_partners,
        min_available_nodes=settings.min_partners,
    )


def run_federation(
    grid: Grid,
    settings: RunSettings,
    run_dir: Path,
    *,
    round_timeout: float = 3600.0,
) -> FederationResult:
    """Run ``settings.num_server_rounds`` rounds of federated training; see module doc."""
    torch.manual_seed(settings.seed)
    model = CustomerSequenceModel()
    arrays = ArrayRecord(model.state_dict())
    strategy = make_strategy(settings)
    progress = ProgressLog(run_dir / "progress.jsonl")
    result = FederationResult(architecture_sha256=architecture_hash(model))
    progress.write("start", rounds=settings.num_server_rounds)
    before = state_sha256(arrays.to_torch_state_dict())
    for rnd in range(1, settings.num_server_rounds + 1):
        t0 = time.perf_counter()
        train_cfg = ConfigRecord({"local-epochs": settings.local_epochs})
        replies = grid.send_and_receive(
            strategy.configure_train(rnd, arrays, train_cfg, grid), timeout=round_timeout
        )
        ok, failed = split_replies(replies)
        train_phase = time.perf_counter() - t0
        if len(ok) < settings.min_partners:
            progress.write("error", round=rnd, reason="too few partners replied")
            raise NoPartnersError(
                f"round {rnd}: {len(ok)} usable replies, fewer than min-partners="
                f"{settings.min_partners} ({len(failed)} failed)"
            )
        new_arrays, train_metrics = strategy.aggregate_train(rnd, ok)
        if new_arrays is None:
            raise NoPartnersError(f"round {rnd}: no update could be aggregated")
        arrays = new_arrays
        state = arrays.to_torch_state_dict()
        after = save_model(state, run_dir / "models" / f"round-{rnd:03d}.pt")
        eval_replies = grid.send_and_receive(
            strategy.configure_evaluate(rnd, arrays, ConfigRecord(), grid), timeout=round_timeout
        )
        eval_ok, eval_failed = split_replies(eval_replies)
        eval_metrics = strategy.aggregate_evaluate(rnd, eval_ok) if eval_ok else None
        partner_seconds = [_train_seconds(m) for m in ok]
        record = RoundRecord(
            round=rnd,
            participants=sorted(_partner_name(m) for m in ok),
            failures=sorted(set(failed) | set(eval_failed)),
            model_sha256_before=before,
            model_sha256_after=after,
            train=_metrics(train_metrics),
            evaluate=_metrics(eval_metrics),
            seconds=time.perf_counter() - t0,
            train_phase_seconds=train_phase,
            max_partner_train_seconds=max(partner_seconds, default=0.0),
            sum_partner_train_seconds=sum(partner_seconds),
        )
        result.rounds.append(record)
        progress.write("round", **record.__dict__)
        logger.info("round %d done in %.1fs: %s", rnd, record.seconds, record.evaluate)
        before = after
    result.final_model_sha256 = save_model(arrays.to_torch_state_dict(), run_dir / "model.pt")
    progress.write("end", final_model_sha256=result.final_model_sha256)
    return result


def summarize(result: FederationResult) -> dict[str, Any]:
    return {
        "final_model_sha256": result.final_model_sha256,
        "architecture_sha256": result.architecture_sha256,
        "rounds": [r.__dict__ for r in result.rounds],
    }
