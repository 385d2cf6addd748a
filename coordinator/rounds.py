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

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import (
    DifferentialPrivacyServerSideFixedClipping,
    Strategy,
)

from coordinator.audit_trail import AuditTrail, hello, now
from coordinator.defenses import check_update, make_aggregator
from coordinator.errors import CoordinatorError, NoPartnersError
from coordinator.model_store import load_model_state, save_model, state_bytes, state_sha256
from coordinator.progress import ProgressLog, read_progress
from insight import CustomerSequenceModel, RunSettings, architecture_hash
from privacy import epsilon_for

logger = logging.getLogger(__name__)


@dataclass
class RoundRecord:
    round: int
    participants: list[str]
    refusals: dict[str, str]
    failures: list[str]
    errors: dict[str, str]
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
    ordered = sorted(replies, key=_partner_name)  # the same sums whatever the arrival order
    rows = [_metrics(m.content.metric_records.get("metrics")) for m in ordered]
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
    errors: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)

    @property
    def sampled(self) -> int:
        return (
            len(self.updates)
            + len(self.refusals)
            + len(self.failures)
            + len(self.errors)
            + len(self.rejected)
        )

    def dropouts(self) -> list[str]:
        return sorted(set(self.failures) | set(self.errors) | set(self.rejected))


def sort_replies(
    replies: Iterable[Message],
    reference: dict[str, torch.Tensor],
    *,
    global_state: dict[str, torch.Tensor] | None = None,
    max_update_norm: float = 0.0,
    names: Mapping[int, str] | None = None,
    sampled: Iterable[int] | None = None,
) -> SortedReplies:
    """Updates, refusals (budget, split view, run not approved), errors (the partner's data),
    failures (the node crashed or went away) and rejected updates (``check_update``).

    With ``sampled`` (the nodes the round was sent to), a failure is a sampled node without a
    reply of its own: the SuperLink reports a node that went away as an error from itself, and
    a node that timed out sends nothing.
    """
    names = names or {}
    out = SortedReplies()
    failed: dict[int, None] = {}
    answered: set[int] = set()
    for msg in replies:
        node = msg.metadata.src_node_id
        if msg.has_error():
            reason = (msg.error.reason or "")[:500]
            logger.warning("node %s failed: %s", names.get(node, node), reason)
            failed[node] = None
            continue
        answered.add(node)
        name = _partner_name(msg)
        partner = msg.content.config_records.get("partner")
        status = str(partner.get("status", "trained")) if partner is not None else "trained"
        reason = str(partner.get("reason", "")) if partner is not None else ""
        if status == "refused":
            logger.info("partner %s refused: %s", name, reason)
            out.refusals[name] = reason
            continue
        if status == "error":
            logger.warning("partner %s replied with an error: %s", name, reason)
            out.errors[name] = reason
            continue
        arrays = msg.content.array_records.get("arrays")
        problem = (
            "no update"
            if arrays is None
            else check_update(
                arrays, reference, global_state=global_state, max_update_norm=max_update_norm
            )
        )
        if problem:
            logger.warning("update of %s rejected: %s", name, problem)
            out.rejected[name] = problem
            continue
        out.updates.append(msg)
    # Replies arrive in whatever order the nodes finish; aggregating them in that order made
    # the sum's last bits vary from run to run (and Adam amplifies that over rounds).
    out.updates.sort(key=_partner_name)
    if sampled is not None:
        wanted = set(sampled)
        failed = {n: None for n in [*failed, *sorted(wanted - answered)] if n in wanted}
    out.failures = [names.get(n, f"node-{n}") for n in failed]
    return out


def make_strategy(settings: RunSettings, num_partners: int) -> Strategy:
    """FedAvg weighted by customers; with ``central-dp``, wrapped in Flower's server-side
    fixed-clipping DP strategy over equal weights (partner-level DP).

    ``min-partners`` is checked once, before the first round (the coordinator waits for that
    many); later rounds go on with whoever may still train, so the sampling minimums are 1
    (Flower's sampler would otherwise wait for refused partners).
    """
    base = make_aggregator(
        settings.aggregation,
        fraction_train=settings.fraction_train,
        weighted_by_key="unit-weight" if settings.central_dp else "num-examples",
        trim_beta=settings.trim_beta,
    )
    if not settings.central_dp:
        return base
    return DifferentialPrivacyServerSideFixedClipping(
        base,
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


@dataclass
class ResumePoint:
    """Where a restarted coordinator goes on: after the last round its audit log holds."""

    after_round: int
    model_hash: str
    state: dict[str, torch.Tensor]
    partners: dict[str, str]
    cumulative: dict[str, float]
    budgets: dict[str, float]
    last_round: dict[str, Any] | None  # the last round record, None before round 1
    releases: int  # rounds that released a model (central DP composes over these)


def resume_point(audit: AuditTrail, run_dir: Path, settings: RunSettings) -> ResumePoint:
    """Read the audit log of an unfinished run; check the saved global model agrees with it.

    Raises:
        CoordinatorError: the run already ended, or its saved model and its log disagree.
    """
    records = audit.log.records()
    if not records:
        raise CoordinatorError(f"{run_dir}: the audit log is empty; start a new run directory")
    if any(r["type"] == "run_end" for r in records):
        raise CoordinatorError(
            f"{run_dir}: this run already ended; choose a new run directory for a new run"
        )
    seq = audit.log.sequence
    k = seq.last_round
    if k == 0:
        torch.manual_seed(settings.seed)
        state = CustomerSequenceModel().state_dict()
        digest = state_sha256(state)
    else:
        path = run_dir / "models" / f"round-{k:03d}.pt"
        if not path.exists():
            raise CoordinatorError(f"{path}: the model of round {k} is missing; cannot resume")
        state = load_model_state(path)
        digest = state_sha256(state)
        if digest != seq.model_hash:
            raise CoordinatorError(
                f"{path}: sha256 {digest} is not the model_hash_after of round {k} in the audit "
                f"log ({seq.model_hash}); the run directory was altered"
            )
    rounds = [r for r in records if r["type"] == "round"]
    return ResumePoint(
        after_round=k,
        model_hash=digest,
        state=state,
        partners=dict(records[0]["partners"]),
        cumulative=dict(seq.cumulative),
        budgets=dict(seq.budget),
        last_round=rounds[-1] if rounds else None,
        releases=sum(1 for r in rounds if r["participants"]),
    )


def _mend_ledger(path: Path, resume: ResumePoint) -> None:
    """Append the mirror-ledger lines of the last logged round if a crash lost them (the audit
    log is written first, the mirror ledger second)."""
    record = resume.last_round
    if record is None:
        return
    rounds = set()
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                rounds.add(json.loads(line).get("round"))
    if record["round"] in rounds:
        return
    _append_ledger(
        path,
        record["round"],
        record["epsilon_spent"],
        record["epsilon_cumulative"],
        record["epsilon_budget"],
        {name: "" for name in record["refusals"]},
    )


def run_federation(
    grid: Grid,
    settings: RunSettings,
    run_dir: Path,
    audit: AuditTrail,
    *,
    manifest_hash: str | None = None,
) -> FederationResult:
    """Run up to ``settings.num_server_rounds`` rounds; see module doc.

    When ``audit.resumed`` (the run directory holds the log of an unfinished run: the
    coordinator was restarted), the run goes on after the last round the log holds, from that
    round's saved global model, with the partners' ε as the log records it.
    """
    torch.manual_seed(settings.seed)
    model = CustomerSequenceModel()
    reference = {k: v.clone() for k, v in model.state_dict().items()}
    progress = ProgressLog(run_dir / "progress.jsonl")
    ledger_path = run_dir / "epsilon_ledger.jsonl"
    result = FederationResult(architecture_sha256=architecture_hash(model))
    resume = resume_point(audit, run_dir, settings) if audit.resumed else None
    arrays = ArrayRecord(resume.state if resume else model.state_dict())
    node_ids = wait_for_nodes(grid, settings.min_partners)
    partners = hello(grid, node_ids, audit.log.origin)
    if resume:
        for name, (_, vkey, _) in list(partners.items()):
            if resume.partners.get(name) != vkey:
                logger.warning("partner %s is not this run's (or its witness key changed)", name)
                del partners[name]
    if len(partners) < settings.min_partners:
        raise NoPartnersError(
            f"{len(partners)} partner(s) answered, fewer than min-partners={settings.min_partners}"
        )
    nodes = {name: nid for name, (nid, _, _) in partners.items()}
    names = {nid: name for name, nid in nodes.items()}
    strategy = make_strategy(settings, len(nodes))
    central = CentralLedger(settings)
    cumulative: dict[str, float] = {}
    budgets: dict[str, float] = {}
    first_round = 1
    if resume:
        first_round = resume.after_round + 1
        cumulative, budgets = resume.cumulative, resume.budgets
        central.releases = resume.releases
        result.rounds = [
            RoundRecord(**{k: v for k, v in e.items() if k not in ("event", "time")})
            for e in read_progress(run_dir / "progress.jsonl")
            if e.get("event") == "round" and e["round"] <= resume.after_round
        ]
        audit.cosigned = {name: size for name, (_, _, size) in partners.items()}
        _mend_ledger(ledger_path, resume)
        audit.resume(grid, nodes, after_round=resume.after_round, model_hash=resume.model_hash)
        progress.write("resume", after_round=resume.after_round, partners=sorted(nodes))
        logger.info("resuming after round %d with %s", resume.after_round, sorted(nodes))
    else:
        audit.start(
            grid,
            nodes,
            {name: vkey for name, (_, vkey, _) in partners.items()},
            settings=settings,
            arch_hash=result.architecture_sha256,
            manifest_hash=manifest_hash,
        )
        progress.write("start", rounds=settings.num_server_rounds, partners=sorted(nodes))
    active = _ActiveGrid(grid, set())
    before = state_sha256(arrays.to_torch_state_dict())
    done_rounds = first_round - 1
    timeout = settings.round_timeout
    for rnd in range(first_round, settings.num_server_rounds + 1):
        if not active.get_node_ids():
            result.stopped_early = "no partner may train any more (budget, refusal or error)"
            break
        t0 = time.perf_counter()
        started = now()
        global_state = arrays.to_torch_state_dict()
        train_cfg = ConfigRecord({"local-epochs": settings.local_epochs})
        sent = list(strategy.configure_train(rnd, arrays, train_cfg, active))  # type: ignore[arg-type]
        replies = list(grid.send_and_receive(sent, timeout=timeout))
        sorted_replies = sort_replies(
            replies,
            reference,
            global_state=global_state,
            max_update_norm=settings.max_update_norm,
            names=names,
            sampled=(m.metadata.dst_node_id for m in sent),
        )
        train_phase = time.perf_counter() - t0
        # A partner that refused, sent bad data or a rejected update is not asked again.
        for name in [*sorted_replies.refusals, *sorted_replies.errors, *sorted_replies.rejected]:
            if name in nodes:
                active.excluded.add(nodes[name])
        ok = sorted_replies.updates
        lost = sorted_replies.dropouts()
        if settings.central_dp and ok and len(ok) < sorted_replies.sampled:
            # Noise is calibrated to the sampled partners' average: releasing an average of
            # fewer would weaken the guarantee. The round is not released; nothing is spent.
            logger.warning(
                "central DP: %d of %d sampled partners gave an update; round %d not released",
                len(ok),
                sorted_replies.sampled,
                rnd,
            )
            progress.write("skipped", round=rnd, reason="central DP needs every sampled partner")
            audit.round(
                grid,
                nodes,
                **_no_release(rnd, sorted_replies, before, cumulative, budgets, started),
            )
            done_rounds = rnd
            continue
        if not ok:
            if sorted_replies.refusals and not lost:
                result.stopped_early = (
                    "every partner refused (privacy budget, split view, approval)"
                )
                progress.write("stopped", round=rnd, reason=result.stopped_early)
                audit.round(
                    grid,
                    nodes,
                    **_no_release(rnd, sorted_replies, before, cumulative, budgets, started),
                )
                done_rounds = rnd
                break
            raise NoPartnersError(
                f"round {rnd}: no usable update ({len(sorted_replies.failures)} failed, "
                f"{len(sorted_replies.errors)} bad data, {len(sorted_replies.rejected)} rejected, "
                f"{len(sorted_replies.refusals)} refused)"
            )
        if lost and len(ok) < settings.min_partners:
            # Too few left to release a model: the round is not recorded, so a restarted
            # coordinator retries it.
            raise NoPartnersError(
                f"round {rnd}: {len(ok)} usable update(s), fewer than min-partners="
                f"{settings.min_partners} ({', '.join(lost)} dropped out)"
            )
        # Hashes of what the partners sent, before aggregation (robust aggregators and
        # central DP consume or clip the replies' arrays).
        update_hashes = {
            _partner_name(m): hashlib.sha256(
                state_bytes(m.content.array_records["arrays"].to_torch_state_dict())
            ).hexdigest()
            for m in ok
        }
        if isinstance(strategy, DifferentialPrivacyServerSideFixedClipping):
            strategy.num_sampled_clients = len(ok)
        new_arrays, train_metrics = strategy.aggregate_train(rnd, ok)
        if new_arrays is None:
            raise NoPartnersError(f"round {rnd}: no update could be aggregated")
        central.release()
        arrays = new_arrays
        after = save_model(arrays.to_torch_state_dict(), run_dir / "models" / f"round-{rnd:03d}.pt")
        spent: dict[str, float] = {}
        commitments: dict[str, str] = {}
        for msg in ok:
            name = _partner_name(msg)
            m = _metrics(msg.content.metric_records["metrics"])
            if "epsilon-cumulative" in m:
                spent[name] = m["epsilon-spent"]
                cumulative[name] = m["epsilon-cumulative"]
                budgets[name] = m["epsilon-budget"]
            partner = msg.content.config_records["partner"]
            commitments[name] = str(partner.get("commitment", ""))
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
        _append_ledger(ledger_path, rnd, spent, cumulative, budgets, sorted_replies.refusals)
        eval_metrics: dict[str, float] = {}
        last = rnd == settings.num_server_rounds
        if last or rnd % settings.evaluate_every == 0:
            eval_replies = grid.send_and_receive(
                strategy.configure_evaluate(rnd, arrays, ConfigRecord(), active),  # type: ignore[arg-type]
                timeout=timeout,
            )
            eval_metrics = average_metrics(m for m in eval_replies if not m.has_error())
        partner_seconds = [_train_seconds(m) for m in ok]
        record = RoundRecord(
            round=rnd,
            participants=sorted(_partner_name(m) for m in ok),
            refusals=sorted_replies.refusals,
            failures=sorted(sorted_replies.failures),
            errors=sorted_replies.errors,
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


def _no_release(
    rnd: int,
    replies: SortedReplies,
    model_hash: str,
    cumulative: dict[str, float],
    budgets: dict[str, float],
    started: str,
) -> dict[str, Any]:
    """The record of a round that released no model (skipped, or every partner refused)."""
    return _round_fields(
        rnd, [], replies, {}, model_hash, model_hash, cumulative, budgets, {}, started
    )


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
    return {
        "round_number": rnd,
        "participants": participants,
        "dropouts": replies.dropouts(),
        "rejected": sorted(replies.rejected),
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
