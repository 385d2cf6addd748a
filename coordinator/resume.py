"""Resuming an unfinished run: where a restarted coordinator goes on, checked against its log."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from coordinator.audit_trail import AuditTrail
from coordinator.errors import CoordinatorError
from coordinator.progress import read_progress
from coordinator.round_record import RoundRecord
from federation import Progress, RunDir, RunSettings, load_model_state, state_sha256
from insight import CustomerSequenceModel


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
        path = RunDir(run_dir).round_model(k)
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


def logged_rounds(run: RunDir, resume: ResumePoint) -> list[RoundRecord]:
    """The progress records of the rounds before the resume point."""
    return [
        RoundRecord.from_progress(e)
        for e in read_progress(run.progress)
        if e.get(Progress.EVENT) == Progress.ROUND and e["round"] <= resume.after_round
    ]
