"""Opening a run: the initial (or resumed) global model, the partners admitted, the strategy,
and the run-start (or run-resume) record; ``FederationRun`` is what the round loop carries."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from flwr.app import ArrayRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import Strategy

from coordinator.audit_trail import AuditTrail, hello
from coordinator.central_dp import CentralLedger
from coordinator.errors import NoPartnersError
from coordinator.mirror_ledger import mend_ledger
from coordinator.progress import ProgressLog
from coordinator.resume import ResumePoint, logged_rounds, resume_point
from coordinator.round_record import FederationResult
from coordinator.strategy import ActiveGrid, make_strategy, wait_for_nodes
from federation import Progress, RunDir, RunSettings, pack_state, state_sha256, unpack_state
from insight import CustomerSequenceModel, architecture_hash

logger = logging.getLogger(__name__)

Partners = dict[str, tuple[int, str, int]]  # name: (node id, witness vkey, cosigned size)


@dataclass
class FederationRun:
    """A run as the round loop carries it from round to round."""

    grid: Grid
    settings: RunSettings
    dir: RunDir
    audit: AuditTrail
    progress: ProgressLog
    result: FederationResult
    reference: dict[str, torch.Tensor]  # the model's keys, shapes and dtypes
    arrays: ArrayRecord  # the global model
    nodes: dict[str, int]  # partner name: node id
    strategy: Strategy
    central: CentralLedger
    active: ActiveGrid
    before: str = ""  # sha256 of the global model the next round starts from
    first_round: int = 1
    done_rounds: int = 0
    cumulative: dict[str, float] = field(default_factory=dict)  # partner: cumulative ε
    budgets: dict[str, float] = field(default_factory=dict)  # partner: ε budget
    # partners of the run (its run-start record) that did not answer when it was resumed
    missing: list[str] = field(default_factory=list)

    @property
    def names(self) -> dict[int, str]:
        return {nid: name for name, nid in self.nodes.items()}

    @property
    def eligible(self) -> dict[str, int]:
        """The run's partners that may still train (connected or not): name: node id."""
        return {name: nid for name, nid in self.nodes.items() if nid not in self.active.excluded}


def open_run(
    grid: Grid,
    settings: RunSettings,
    run_dir: Path,
    audit: AuditTrail,
    *,
    manifest_hash: str | None = None,
) -> FederationRun:
    """A new run, started and logged; or, when ``audit.resumed``, the unfinished run resumed.

    Raises:
        NoPartnersError: fewer than ``min-partners`` partners (of this run's) answered.
        CoordinatorError: a resumed run directory disagrees with its audit log.
    """
    torch.manual_seed(settings.seed)
    model = CustomerSequenceModel()
    reference = {k: v.clone() for k, v in model.state_dict().items()}
    run_files = RunDir(run_dir)
    progress = ProgressLog(run_files.progress)
    result = FederationResult(architecture_sha256=architecture_hash(model))
    resume = resume_point(audit, run_dir, settings) if audit.resumed else None
    arrays = pack_state(resume.state if resume else model.state_dict())
    partners = _admit(grid, settings, audit, resume)
    nodes = {name: nid for name, (nid, _, _) in partners.items()}
    run = FederationRun(
        grid=grid,
        settings=settings,
        dir=run_files,
        audit=audit,
        progress=progress,
        result=result,
        reference=reference,
        arrays=arrays,
        nodes=nodes,
        strategy=make_strategy(settings, len(nodes)),
        central=CentralLedger(settings),
        active=ActiveGrid(grid, set(), members=set(nodes.values())),
    )
    if resume:
        _resume(run, resume, partners)
    else:
        _start(run, partners, manifest_hash)
    run.before = state_sha256(unpack_state(arrays))
    run.done_rounds = run.first_round - 1
    return run


def _admit(
    grid: Grid, settings: RunSettings, audit: AuditTrail, resume: ResumePoint | None
) -> Partners:
    """The partners that answer hello; on resume, only those with the run's witness keys."""
    node_ids = wait_for_nodes(grid, settings.min_partners)
    partners = hello(grid, node_ids, audit.log.origin, audit.signer.verifier.vkey)
    if resume:
        for name, (_, vkey, _) in list(partners.items()):
            if resume.partners.get(name) != vkey:
                logger.warning("partner %s is not this run's (or its witness key changed)", name)
                del partners[name]
    if len(partners) < settings.min_partners:
        raise NoPartnersError(
            f"{len(partners)} partner(s) answered, fewer than min-partners={settings.min_partners}"
        )
    return partners


def _start(run: FederationRun, partners: Partners, manifest_hash: str | None) -> None:
    """The run-start record (cosigned in round 1's train exchange) and the progress file's
    first event."""
    run.audit.start(
        run.grid,
        run.nodes,
        {name: vkey for name, (_, vkey, _) in partners.items()},
        settings=run.settings,
        arch_hash=run.result.architecture_sha256,
        manifest_hash=manifest_hash,
        defer=True,
    )
    run.progress.write(
        Progress.START, rounds=run.settings.num_server_rounds, partners=sorted(run.nodes)
    )


def _resume(run: FederationRun, resume: ResumePoint, partners: Partners) -> None:
    """Go on after the resume point: the ε and releases the log holds, the rounds already
    recorded, the mirror ledger mended, and the run-resume record, cosigned."""
    run.first_round = resume.after_round + 1
    run.missing = sorted(set(resume.partners) - set(partners))
    run.cumulative, run.budgets = resume.cumulative, resume.budgets
    run.central.releases = resume.releases
    run.result.rounds = logged_rounds(run.dir, resume)
    run.audit.cosigned = {name: size for name, (_, _, size) in partners.items()}
    mend_ledger(run.dir.epsilon_ledger, resume.last_round)
    run.audit.resume(
        run.grid, run.nodes, after_round=resume.after_round, model_hash=resume.model_hash
    )
    run.progress.write(Progress.RESUME, after_round=resume.after_round, partners=sorted(run.nodes))
    logger.info("resuming after round %d with %s", resume.after_round, sorted(run.nodes))
