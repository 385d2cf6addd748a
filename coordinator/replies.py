"""The partners' replies to a round: sorted into updates, refusals, errors, rejected updates and
failures, and the figures read out of them."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import torch
from flwr.app import Message, MetricRecord
from flwr.common.constant import ErrorCode

from coordinator.defenses import check_update
from federation import Metric, Partner, Record, Status, flat_record

logger = logging.getLogger(__name__)


def partner_name(msg: Message) -> str:
    """The partner's label from its reply, or ``node-<id>`` when it gave none."""
    cfg = msg.content.config_records.get(Record.PARTNER)
    if cfg is not None and Partner.NAME in cfg:
        return str(cfg[Partner.NAME])
    return f"node-{msg.metadata.src_node_id}"


def metric_values(record: MetricRecord | None) -> dict[str, float]:
    """The record's scalar metrics as floats (lists left out)."""
    if record is None:
        return {}
    return {k: float(v) for k, v in record.items() if isinstance(v, (int, float))}


# Evaluation metrics that count: the federation's figure is the sum of the partners', never their
# average. Partners release no totals (a charged, noised query: ``privacy.evaluation``), only a
# noisy customer count.
SUMMED_METRICS = ("n-customers",)


def average_metrics(replies: Iterable[Message]) -> dict[str, float]:
    """Partners' evaluation metrics over the keys every partner reported (a partner too small
    for a metric leaves that metric out): per-customer metrics averaged, weighted by the
    partners' customers; counts (``SUMMED_METRICS``, and ``num-examples``) summed."""
    ordered = sorted(replies, key=partner_name)  # the same sums whatever the arrival order
    rows = [metric_values(m.content.metric_records.get(Record.METRICS)) for m in ordered]
    rows = [r for r in rows if r.get(Metric.NUM_EXAMPLES, 0) > 0]
    if not rows:
        return {}
    keys = set.intersection(*(set(r) for r in rows)) - {Metric.NUM_EXAMPLES}
    total = sum(r[Metric.NUM_EXAMPLES] for r in rows)
    out = {
        k: sum(r[k] for r in rows)
        if k in SUMMED_METRICS
        else sum(r[k] * r[Metric.NUM_EXAMPLES] for r in rows) / total
        for k in sorted(keys)
    }
    out[Metric.NUM_EXAMPLES] = total
    return out


def train_seconds(msg: Message) -> float:
    """The seconds the partner reports it spent training (0 when it did not say)."""
    value = msg.content.metric_records[Record.METRICS].get(Metric.TRAIN_SECONDS, 0.0)
    return float(value) if isinstance(value, (int, float)) else 0.0


# Why a partner of the run gave no answer in a round (``SortedReplies.failure_reasons``).
NOT_CONNECTED = "not connected"  # the SuperLink did not list its node: it was not asked
NODE_OFFLINE = "node went offline"  # the SuperLink answered for it: the node stopped
NO_REPLY = "no reply"  # before the round's timeout
APP_FAILED = "the node's app failed"  # the partner's words follow: exception type, no literals


def no_reply_before(timeout: float) -> str:
    return f"{NO_REPLY} before round-timeout ({timeout:g}s)"


@dataclass
class SortedReplies:
    updates: list[Message] = field(default_factory=list)
    refusals: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    failure_reasons: dict[str, str] = field(default_factory=dict)  # failures' names: why

    @property
    def sampled(self) -> int:
        return (
            len(self.updates)
            + len(self.refusals)
            + len(self.failures)
            + len(self.errors)
            + len(self.rejected)
        )

    @property
    def asked(self) -> int:
        """The partners the round was sent to (``sampled`` less those not connected)."""
        return self.sampled - sum(1 for r in self.failure_reasons.values() if r == NOT_CONNECTED)

    def dropouts(self) -> list[str]:
        return sorted(set(self.failures) | set(self.errors) | set(self.rejected))

    def fail(self, name: str, reason: str) -> None:
        """Count ``name`` as a partner of the round that gave no answer (``reason``)."""
        if name not in self.failure_reasons:
            self.failures.append(name)
        self.failure_reasons[name] = reason

    def dropout_reasons(self) -> dict[str, str]:
        """Every dropout (``dropouts``) with why, in partner order: a failure's reason (not
        connected, went offline, no reply before the timeout), ``bad data: ...`` or ``update
        rejected: ...``."""
        why = {name: self.failure_reasons.get(name, NO_REPLY) for name in self.failures}
        why |= {name: f"bad data: {reason}" for name, reason in self.errors.items()}
        why |= {name: f"update rejected: {reason}" for name, reason in self.rejected.items()}
        return {name: why[name] for name in sorted(why)}

    def not_asked_again(self) -> list[str]:
        """Partners that refused, sent bad data or a rejected update."""
        return [*self.refusals, *self.errors, *self.rejected]

    def describe(self) -> str:
        """Every partner without a usable update and why, in partner order: ``p0 refused
        (run not approved); p1 failed (no reply)``. The reasons are the partners' own (they
        name files, lines, columns and budgets, never a data value) and the update checks'."""
        why = {
            name: f"refused ({reason or 'no reason given'})"
            for name, reason in self.refusals.items()
        }
        why |= {name: f"bad data ({reason})" for name, reason in self.errors.items()}
        why |= {name: f"update rejected ({reason})" for name, reason in self.rejected.items()}
        why |= {
            name: f"failed ({self.failure_reasons.get(name, NO_REPLY)})" for name in self.failures
        }
        return "; ".join(f"{name} {why[name]}" for name in sorted(why)) or "no partner replied"


def sort_replies(
    replies: Iterable[Message],
    reference: dict[str, torch.Tensor],
    *,
    global_state: dict[str, torch.Tensor] | None = None,
    max_update_norm: float = 0.0,
    names: Mapping[int, str] | None = None,
    sampled: Iterable[int] | None = None,
    sent: Iterable[Message] = (),
    no_reply: str = NO_REPLY,
) -> SortedReplies:
    """Updates, refusals (budget, split view, run not approved), errors (the partner's data),
    failures (the node crashed or went away) and rejected updates (``check_update``).

    With ``sampled`` (the nodes the round was sent to), a failure is a sampled node without a
    reply of its own: the SuperLink reports a node that went away as an error from itself
    (matched to its node through ``sent``, the messages pushed, by message id), and a node
    that timed out sends nothing (its reason: ``no_reply``). A failure's reason is the
    coordinator's own words, never the error text a node or Flower sent (the log has that).
    """
    names = names or {}
    target = {m.metadata.message_id: m.metadata.dst_node_id for m in sent if m.metadata.message_id}
    out = SortedReplies()
    failed: dict[int, str] = {}
    answered: set[int] = set()
    for msg in replies:
        node = msg.metadata.src_node_id
        if msg.has_error():
            node = target.get(msg.metadata.reply_to_message_id, node)
            logger.warning(
                "node %s failed: %s", names.get(node, node), (msg.error.reason or "")[:500]
            )
            failed[node] = _failure_reason(msg)
            continue
        answered.add(node)
        _sort_one(msg, out, reference, global_state, max_update_norm)
    # Replies arrive in whatever order the nodes finish; aggregating them in that order made
    # the sum's last bits vary from run to run (and Adam amplifies that over rounds).
    out.updates.sort(key=partner_name)
    if sampled is not None:
        wanted = set(sampled)
        silent = {n: no_reply for n in sorted(wanted - answered) if n not in failed}
        failed = {n: why for n, why in {**failed, **silent}.items() if n in wanted}
    for node, why in failed.items():
        out.fail(names.get(node, f"node-{node}"), why)
    return out


def _failure_reason(msg: Message) -> str:
    """An error reply in the coordinator's words: the SuperLink's for a node it lost, else the
    Flower error code (a ClientApp's exception text may quote data, so it is not repeated)."""
    if msg.error.code == ErrorCode.NODE_UNAVAILABLE:
        return NODE_OFFLINE
    return f"the node's app failed (Flower error code {msg.error.code})"


def _sort_one(
    msg: Message,
    out: SortedReplies,
    reference: dict[str, torch.Tensor],
    global_state: dict[str, torch.Tensor] | None,
    max_update_norm: float,
) -> None:
    """File a reply that is not an error of the SuperLink's."""
    name = partner_name(msg)
    partner = msg.content.config_records.get(Record.PARTNER)
    status, reason = Status.TRAINED, ""
    if partner is not None:
        status = str(partner.get(Partner.STATUS, Status.TRAINED))
        reason = str(partner.get(Partner.REASON, ""))
    if status == Status.REFUSED:
        logger.info("partner %s refused: %s", name, reason)
        out.refusals[name] = reason
        return
    if status == Status.ERROR:
        logger.warning("partner %s replied with an error: %s", name, reason)
        out.errors[name] = reason
        return
    if status == Status.FAILED:
        logger.warning("the app of partner %s failed: %s", name, reason)
        out.fail(name, f"{APP_FAILED}: {reason}")
        return
    arrays = msg.content.array_records.get(Record.ARRAYS)
    problem = (
        "no update"
        if arrays is None
        else check_update(
            arrays, reference, global_state=global_state, max_update_norm=max_update_norm
        )
    )
    if arrays is None or problem:
        logger.warning("update of %s rejected: %s", name, problem)
        out.rejected[name] = problem
        return
    # Named arrays pass the same checks as a flat one; the strategy averages one form.
    msg.content[Record.ARRAYS] = flat_record(arrays)
    out.updates.append(msg)
