"""What a round leaves behind: its progress record (``RoundRecord``), the fields of its audit-log
record (``round_fields``), and the run's result (``FederationResult``, ``summarize``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from coordinator.audit_trail import now
from coordinator.replies import SortedReplies
from federation import Progress


@dataclass
class RoundRecord:
    """A round as ``RunDir.progress`` records it (the ``round`` event's fields)."""

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
    # every dropout (failures, errors, rejected) with why; older progress files lack it
    dropouts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_progress(cls, event: Mapping[str, Any]) -> RoundRecord:
        """The record of a ``round`` event read back from the progress file."""
        return cls(**{k: v for k, v in event.items() if k not in (Progress.EVENT, Progress.TIME)})


@dataclass
class FederationResult:
    rounds: list[RoundRecord] = field(default_factory=list)
    final_model_sha256: str = ""
    architecture_sha256: str = ""
    stopped_early: str = ""
    audit: dict[str, Any] = field(default_factory=dict)
    central: dict[str, Any] = field(default_factory=dict)


def summarize(result: FederationResult) -> dict[str, Any]:
    """The run's summary (``RunDir.federation_summary``)."""
    return {
        "final_model_sha256": result.final_model_sha256,
        "architecture_sha256": result.architecture_sha256,
        "stopped_early": result.stopped_early,
        "audit": result.audit,
        "central_dp": result.central,
        "rounds": [r.__dict__ for r in result.rounds],
    }


def round_fields(
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
    central: dict[str, float | int] | None = None,
) -> dict[str, Any]:
    """The fields of the round's audit-log record (``audit.round_record``); ``central``: the
    partner-level DP terms and ε of the round's release (``CentralLedger.record``)."""
    fields: dict[str, Any] = {
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
    if central is not None:
        fields["central_dp"] = central
    return fields


def no_release_fields(
    rnd: int,
    replies: SortedReplies,
    model_hash: str,
    cumulative: dict[str, float],
    budgets: dict[str, float],
    started: str,
) -> dict[str, Any]:
    """The audit-log record of a round that released no model (skipped, or every partner
    refused)."""
    return round_fields(
        rnd, [], replies, {}, model_hash, model_hash, cumulative, budgets, {}, started
    )
