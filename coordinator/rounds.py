"""The coordinator's round loop.

Flower's ``Strategy.start`` runs all rounds in one call; fedinsight drives the rounds itself with
the strategy's own ``configure_*``/``aggregate_*`` steps, so that between two rounds it can:

- sort the replies into updates, refusals (a partner out of privacy budget, or one that saw a
  split view of the audit log) and failures, and stop selecting partners that refused
  (``coordinator.replies``);
- reject an update that is not finite or has the wrong shapes before aggregation;
- save the global model with its sha256, keep the mirror ledger of the ε each partner reported
  (``coordinator.mirror_ledger``), append the round's record to the audit log and have the
  partners cosign it;
- report progress. The run ends cleanly when no partner is left to train.

A round, step by step (``_play_round``): train, exclude who may not train again, withhold the
release when the round cannot give one, else release: aggregate, save, log, evaluate, record.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from flwr.app import ConfigRecord, Message
from flwr.serverapp import Grid
from flwr.serverapp.strategy import DifferentialPrivacyServerSideFixedClipping

from coordinator.audit_trail import COSIGN_TIMEOUT_S, AuditTrail, now
from coordinator.defenses import norm_screen_bound, published_update_hashes
from coordinator.errors import NoPartnersError, PartnerLimitError
from coordinator.homecoming import homecoming_messages, record_homecoming
from coordinator.mirror_ledger import append_ledger
from coordinator.opening import FederationRun, open_run
from coordinator.progress import ProgressLog
from coordinator.replies import (
    NOT_CONNECTED,
    SortedReplies,
    average_metrics,
    metric_values,
    no_reply_before,
    partner_name,
    sort_replies,
    train_seconds,
)
from coordinator.round_record import FederationResult, RoundRecord, no_release_fields, round_fields
from federation import (
    Metric,
    Partner,
    Progress,
    Record,
    RunDir,
    RunSettings,
    TrainRequest,
    save_model,
    unpack_state,
)

logger = logging.getLogger(__name__)


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

    Raises:
        NoPartnersError: too few partners answered, or a round had too few usable updates.
        PartnerLimitError: more partners than the audit log can have cosign.
        CoordinatorError: a resumed run directory disagrees with its audit log.
    """
    progress = ProgressLog(RunDir(run_dir).progress)
    try:
        run = open_run(grid, settings, run_dir, audit, manifest_hash=manifest_hash)
        for rnd in range(run.first_round, settings.num_server_rounds + 1):
            if not run.eligible:
                run.result.stopped_early = (
                    "no partner may train any more (budget, refusal or error)"
                )
                break
            if not _play_round(run, rnd):
                break
    except (NoPartnersError, PartnerLimitError) as exc:
        progress.write(Progress.FAILED, reason=str(exc))
        raise
    return _close_run(run)


@dataclass(frozen=True)
class _Clock:
    t0: float  # perf_counter at the round's start
    started: str  # the round's start, as the audit record states it
    train_phase: float  # seconds until every train reply was in


def _play_round(run: FederationRun, rnd: int) -> bool:
    """Round ``rnd``, every step of it; False when the run stops after it."""
    t0 = time.perf_counter()
    started = now()
    replies = _train(run, rnd)
    run.audit.check_round(replies, rnd, dp=run.settings.dp)
    clock = _Clock(t0=t0, started=started, train_phase=time.perf_counter() - t0)
    _exclude(run, replies)
    withheld = _withheld(run, rnd, replies, clock)
    if withheld is not None:
        run.done_rounds = rnd
        return withheld == Progress.SKIPPED
    _release(run, rnd, replies, clock)
    return True


def _train(run: FederationRun, rnd: int) -> SortedReplies:
    """Send the global model to the partners the strategy samples; sort their replies.

    A partner of the run that may still train but whose node the SuperLink does not list (it
    stopped, or lost its connection), or that did not answer when the run was resumed, is not
    asked: it is a dropout of the round, ``not connected``, as is a sampled one that gives no
    answer.
    """
    global_state = unpack_state(run.arrays)
    config = ConfigRecord(
        {
            TrainRequest.LOCAL_EPOCHS: run.settings.local_epochs,
            TrainRequest.ORIGIN: run.audit.log.origin,
        }
    )
    connected = set(run.active.get_node_ids())
    sent = []
    if connected:  # Flower's sampler would wait for a node
        sent = list(run.strategy.configure_train(rnd, run.arrays, config, run.active))  # type: ignore[arg-type]
    asked = {m.metadata.dst_node_id for m in sent}
    absent = sorted(
        [name for name, nid in run.eligible.items() if nid not in connected | asked] + run.missing
    )
    run.progress.write(
        Progress.ROUND_START,
        round=rnd,
        asked=sorted(run.names.get(n, f"node-{n}") for n in asked),
        not_connected=absent,
    )
    # Round 1's train messages also carry the cosign request of the run's start.
    replies = run.audit.send(run.grid, sent, timeout=run.settings.round_timeout)
    out = sort_replies(
        replies,
        run.reference,
        global_state=global_state,
        max_update_norm=norm_screen_bound(
            run.settings.max_update_norm, central_dp=run.settings.central_dp
        ),
        names=run.names,
        sampled=asked,
        sent=sent,
        no_reply=no_reply_before(run.settings.round_timeout),
    )
    for name in absent:
        out.fail(name, NOT_CONNECTED)
    return out


def _exclude(run: FederationRun, replies: SortedReplies) -> None:
    """A partner that refused, sent bad data or a rejected update is not asked again."""
    for name in replies.not_asked_again():
        if name in run.nodes:
            run.active.excluded.add(run.nodes[name])


def _withheld(run: FederationRun, rnd: int, replies: SortedReplies, clock: _Clock) -> str | None:
    """Why the round releases no model: ``Progress.SKIPPED`` (the run goes on) or
    ``Progress.STOPPED`` (it ends), each logged; None when the round may release one.

    Raises:
        NoPartnersError: no usable update, or fewer than ``min-partners`` after dropouts; the
            round is not recorded, so a restarted coordinator retries it.
    """
    ok, lost = replies.updates, replies.dropouts()
    if run.settings.central_dp and ok and len(ok) < replies.asked:
        # Noise is calibrated to the sampled partners' average: releasing an average of
        # fewer would weaken the guarantee. The round is not released; nothing is spent.
        logger.warning(
            "central DP: %d of %d sampled partners gave an update; round %d not released",
            len(ok),
            replies.asked,
            rnd,
        )
        run.progress.write(
            Progress.SKIPPED,
            round=rnd,
            reason="central DP needs every sampled partner",
            **_outcome(replies, clock),
        )
        _log_no_release(run, rnd, replies, clock)
        return Progress.SKIPPED
    if not ok:
        if replies.refusals and not lost:
            reason = f"every partner refused: {replies.describe()}"
            run.result.stopped_early = reason
            run.progress.write(
                Progress.STOPPED, round=rnd, reason=reason, **_outcome(replies, clock)
            )
            _log_no_release(run, rnd, replies, clock)
            return Progress.STOPPED
        raise NoPartnersError(f"round {rnd}: no usable update: {replies.describe()}")
    if lost and len(ok) < run.settings.min_partners:
        raise NoPartnersError(
            f"round {rnd}: {len(ok)} usable update(s), fewer than min-partners="
            f"{run.settings.min_partners} ({replies.describe()})"
        )
    return None


def _outcome(replies: SortedReplies, clock: _Clock) -> dict[str, object]:
    """A withheld round's progress fields: who refused or dropped out and why, its time."""
    return {
        "refusals": replies.refusals,
        "dropouts": replies.dropout_reasons(),
        "seconds": time.perf_counter() - clock.t0,
    }


def _log_no_release(run: FederationRun, rnd: int, replies: SortedReplies, clock: _Clock) -> None:
    fields = no_release_fields(rnd, replies, run.before, run.cumulative, run.budgets, clock.started)
    run.audit.round(run.grid, run.nodes, **fields)


def _release(run: FederationRun, rnd: int, replies: SortedReplies, clock: _Clock) -> None:
    """Aggregate the updates, save the model, log and cosign the round, keep the mirror ledger,
    evaluate, record the round's progress."""
    ok = replies.updates
    update_hashes = published_update_hashes((partner_name(m), m) for m in ok)
    train_metrics = _aggregate(run, rnd, ok)
    after = save_model(unpack_state(run.arrays), run.dir.round_model(rnd))
    spent, commitments = _partner_reports(run, ok)
    fields = round_fields(
        rnd,
        [partner_name(m) for m in ok],
        replies,
        update_hashes,
        run.before,
        after,
        run.cumulative,
        run.budgets,
        commitments,
        clock.started,
        spent=spent,
        central=run.central.record(len(ok)),
    )
    evaluations = _evaluations(run, rnd)
    eval_replies = run.audit.round(
        run.grid,
        run.nodes,
        carriers=evaluations,
        timeout=run.settings.round_timeout if evaluations else COSIGN_TIMEOUT_S,
        **fields,
    )
    append_ledger(run.dir.epsilon_ledger, rnd, spent, run.cumulative, run.budgets, replies.refusals)
    eval_metrics = average_metrics(m for m in eval_replies if not m.has_error())
    partner_seconds = [train_seconds(m) for m in ok]
    record = RoundRecord(
        round=rnd,
        participants=sorted(partner_name(m) for m in ok),
        refusals=replies.refusals,
        failures=sorted(replies.failures),
        errors=replies.errors,
        rejected=replies.rejected,
        model_sha256_before=run.before,
        model_sha256_after=after,
        epsilon={
            name: {
                "spent": spent.get(name, 0.0),
                "cumulative": run.cumulative[name],
                "budget": run.budgets[name],
            }
            for name in run.cumulative
        },
        central_epsilon=run.central.epsilon(),
        train=train_metrics,
        evaluate=eval_metrics,
        seconds=time.perf_counter() - clock.t0,
        train_phase_seconds=clock.train_phase,
        max_partner_train_seconds=max(partner_seconds, default=0.0),
        sum_partner_train_seconds=sum(partner_seconds),
        dropouts=replies.dropout_reasons(),
    )
    run.result.rounds.append(record)
    run.progress.write(Progress.ROUND, **record.__dict__)
    logger.info("round %d done in %.1fs", rnd, record.seconds)
    run.before = after
    run.done_rounds = rnd


def _aggregate(run: FederationRun, rnd: int, updates: list[Message]) -> dict[str, float]:
    """The new global model (``run.arrays``), counted as a central-DP release; returns the
    aggregated train metrics."""
    if isinstance(run.strategy, DifferentialPrivacyServerSideFixedClipping):
        run.strategy.num_sampled_clients = len(updates)
    new_arrays, train_metrics = run.strategy.aggregate_train(rnd, updates)
    if new_arrays is None:
        raise NoPartnersError(f"round {rnd}: no update could be aggregated")
    run.central.release()
    run.arrays = new_arrays
    return metric_values(train_metrics)


def _partner_reports(
    run: FederationRun, updates: list[Message]
) -> tuple[dict[str, float], dict[str, str]]:
    """The ε each partner reports spending (``run.cumulative`` and ``run.budgets`` updated) and
    its data commitment."""
    spent: dict[str, float] = {}
    commitments: dict[str, str] = {}
    for msg in updates:
        name = partner_name(msg)
        m = metric_values(msg.content.metric_records[Record.METRICS])
        if Metric.EPSILON_CUMULATIVE in m:
            spent[name] = m[Metric.EPSILON_SPENT]
            run.cumulative[name] = m[Metric.EPSILON_CUMULATIVE]
            run.budgets[name] = m[Metric.EPSILON_BUDGET]
        partner = msg.content.config_records[Record.PARTNER]
        commitments[name] = str(partner.get(Partner.COMMITMENT, ""))
    return spent, commitments


def _evaluations(run: FederationRun, rnd: int) -> list[Message]:
    """The evaluate messages of the new global model, every ``evaluate-every`` rounds and the
    last; none otherwise. They go out with the round's cosign request (``AuditTrail.round``),
    so a node cosigns the round's record and evaluates its model in one exchange."""
    last = rnd == run.settings.num_server_rounds
    if not (last or rnd % run.settings.evaluate_every == 0):
        return []
    return list(run.strategy.configure_evaluate(rnd, run.arrays, ConfigRecord(), run.active))  # type: ignore[arg-type]


def _close_run(run: FederationRun) -> FederationResult:
    """Save the final model, log the run's end and send the model home (one exchange: each
    node cosigns the run's end, then checks the model against it), write the last progress
    event.

    When no round released a model (every partner refused, every round withheld), no
    ``model.pt`` is written: the initial model was never trained, and a file beside the run's
    outputs would pass for a result. The run-end record then states the initial model's hash
    (the model the log's rounds start and end at) and the progress event's
    ``final_model_sha256`` is None.
    """
    result = run.result
    if any(r.participants for r in result.rounds):
        result.final_model_sha256 = save_model(unpack_state(run.arrays), run.dir.model)
        final_hash = result.final_model_sha256
    else:
        result.stopped_early = result.stopped_early or "no round released a model"
        logger.warning("no round trained: no model saved (%s)", result.stopped_early)
        final_hash = run.before
    # The model's delivery needs the run_end record in the log: made once it is appended.
    home_replies = run.audit.end(
        run.grid,
        run.nodes,
        final_model_hash=final_hash,
        rounds=run.done_rounds,
        carriers=(
            (lambda: homecoming_messages(run.grid, run.dir.path, run.audit))
            if result.final_model_sha256
            else ()
        ),
    )
    if result.final_model_sha256:
        record_homecoming(run.dir.path, home_replies)
    result.audit = run.audit.summary()
    result.central = run.central.summary()
    run.progress.write(
        Progress.END,
        final_model_sha256=result.final_model_sha256 or None,
        stopped_early=result.stopped_early,
    )
    return result
