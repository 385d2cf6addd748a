"""A researcher's federated simulation, end to end.

1. Load the dataset and split its customers into partners (``insight.partition``).
2. Write each partner's events to ``RUN_DIR/partners/`` (what that partner holds) and the
   resolved ``config.toml``.
3. Run the Flower app on Flower's simulation engine (``federation.launcher``).
4. Compute the baselines in the same run: the same model trained centrally on pooled data
   (non-private), BG/NBD, and the naive rate.
5. Write ``report.json`` and ``report.html``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from anonymization import apply_consent, make_pii_events, pii_schema, write_pii_schema
from coordinator import read_progress
from coordinator.audit_trail import MAX_PARTNERS
from federation import LaunchError, Progress, RunDir, RunSettings, flwr_run, local_superlink
from insight import (
    EventTable,
    load_dataset,
    partition_customers,
    write_event_file,
)
from privacy import PrivacyConfigError, check_delta_bound, default_delta
from privacy.canaries import CanarySet
from simulations.baselines import run_baselines
from simulations.errors import SimulationError
from simulations.partner_insights import score_partners
from simulations.privacy_audit import GradientPlan, plan_canaries, run_audit, write_canary_specs
from simulations.report import write_report
from simulations.value_of_federation import value_of_federation

logger = logging.getLogger(__name__)

ProgressFn = Callable[[list[dict[str, Any]]], None]


@dataclass(frozen=True)
class SimulationSpec:
    settings: RunSettings
    out_dir: Path
    app_dir: Path
    min_customers: int = 50
    run_id: str = ""
    pii: bool = False
    budgets: dict[str, float] = field(default_factory=dict)
    mia_fraction: float = 0.1
    # Each partner also trains alone (simulations.value_of_federation), one after the other.
    value_of_federation: bool = True
    # The run's δ from its partners: default_delta of the largest, so that no partner's own
    # default is stricter (else the largest partners refuse a run at 1e-5). False: the δ given.
    delta_from_partners: bool = False
    explain: bool = True  # the partners' end-of-run scores carry Captum's drivers
    ray_address: str = ""  # host:port of a running Ray cluster; "" = a private Ray instance
    partners_at_once: int = 0  # Ray actors (one partner's work each) on a private Ray; 0: cores
    canaries: int = 0  # > 0: the one-run privacy audit with this many canaries
    audit_kind: str = "gradient"  # simulations.privacy_audit.KINDS


@dataclass(frozen=True)
class SimulationResult:
    run_dir: Path
    report: dict[str, Any]


def make_run_id(settings: RunSettings) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    digest = hashlib.sha256(json.dumps(asdict(settings), sort_keys=True).encode()).hexdigest()
    return f"{stamp}-{digest[:6]}"


def _toml(settings: dict[str, Any]) -> str:
    lines = ["[tool.flwr.app.config]"]
    for key, value in settings.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, (int, float)):
            lines.append(f"{key} = {value!r}")
        else:
            lines.append(f"{key} = {json.dumps(str(value))}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class PreparedRun:
    run_dir: Path
    settings: RunSettings
    partners: dict[str, int]
    pooled: pd.DataFrame
    non_members: pd.DataFrame
    canaries: CanarySet | GradientPlan | None = None


def prepare_run(spec: SimulationSpec, table: EventTable) -> PreparedRun:
    """Create the run directory and each partner's home with its raw data.

    ``RUN_DIR/partner-homes/<partner>/`` stands for the partner's own machine: its raw events
    (with synthetic identities, notes and consent when ``spec.pii``), and later its keys,
    pseudonymized copy and privacy ledger. Nothing else in the run directory holds raw data.
    """
    s = spec.settings
    _check_no_dp_budget(spec)
    run_id = spec.run_id or make_run_id(s)
    run_dir = (spec.out_dir / run_id).resolve()
    if run_dir.exists():
        raise SimulationError(f"run directory {run_dir} already exists")
    events, non_members = _hold_out(table.events, spec.mia_fraction, s.seed)
    part = partition_customers(
        events,
        s.split,
        num_partners=s.num_partners,
        seed=s.seed,
        calibration_end=s.calibration_timestamp,
        min_customers=spec.min_customers,
    )
    if len(part.partners) < s.min_partners:
        raise SimulationError(
            f"the split kept {len(part.partners)} partner(s) with at least "
            f"{spec.min_customers} customers; min-partners is {s.min_partners}"
        )
    if len(part.partners) > MAX_PARTNERS:
        raise SimulationError(
            f"the split kept {len(part.partners)} partners; the audit log's checkpoints carry "
            f"one cosignature a partner beside the coordinator's, so at most {MAX_PARTNERS}"
        )
    if spec.delta_from_partners:  # the δ no partner's default is stricter than
        s = replace(s, target_delta=default_delta(max(len(ids) for ids in part.partners.values())))
    if s.dp:
        for name, ids in part.partners.items():
            try:
                check_delta_bound(s.target_delta, len(ids), where=name)
            except PrivacyConfigError as exc:
                raise SimulationError(str(exc)) from None
    canaries: CanarySet | GradientPlan | None = None
    inserted: dict[str, pd.DataFrame] = {}
    if spec.canaries:
        if spec.pii and spec.audit_kind == "input":
            raise SimulationError("--privacy-audit --audit-kind input does not combine with --pii")
        canaries, inserted = plan_canaries(
            s, spec.canaries, list(part.partners), events, spec.audit_kind
        )
    run_dir.mkdir(parents=True)
    files = RunDir(run_dir)
    homes = files.partner_homes
    sizes: dict[str, int] = {}
    kept: set[str] = set()
    for i, (name, mine) in enumerate(_by_partner(events, part.partners)):
        if name in inserted:  # the audit's canaries: the partner's own customers from here on
            mine = pd.concat([mine, inserted[name]], ignore_index=True)
        if spec.pii:
            mine = make_pii_events(mine, seed=s.seed * 1000 + i)
        write_event_file(mine, homes / name / "raw.parquet")
        _write_node_settings(homes / name, s.target_delta, spec.budgets.get(name))
        sizes[name] = len(part.partners[name])
        kept.update(_trained_on(mine, pii=spec.pii))
    write_canary_specs(canaries, homes)
    schema_path = ""
    if spec.pii:
        write_pii_schema(homes / "schema.toml")
        schema_path = str(homes / "schema.toml")
    resolved = replace(
        s,
        num_partners=len(part.partners),
        run_dir=str(run_dir),
        partners_dir=str(homes),
        schema_path=schema_path,
    )
    files.config.write_text(_toml(resolved.to_flower()))
    files.partition.write_text(
        json.dumps({"partners": sizes, "left_out": part.left_out}, indent=2, sort_keys=True)
    )
    pooled = events[events["customer_id"].isin(kept)]
    unknown = set(spec.budgets) - set(sizes)
    if unknown:
        raise SimulationError(f"budgets name unknown partner(s): {', '.join(sorted(unknown))}")
    return PreparedRun(
        run_dir=run_dir,
        settings=resolved,
        partners=sizes,
        pooled=pooled,
        non_members=non_members,
        canaries=canaries,
    )


def _write_node_settings(home: Path, delta: float, budget: float | None) -> None:
    """The partner's own settings (its home exists: its raw file is in it), as its operator
    would write them: every partner of a simulation trains at the run's δ (each node still
    refuses a δ above 1 / n), and a budget where ``--budgets`` names one."""
    lines = [f"target-delta = {delta!r}"]
    if budget is not None:
        lines.append(f"epsilon-budget = {budget!r}")
    (home / "node.toml").write_text("\n".join(lines) + "\n")


def _trained_on(mine: pd.DataFrame, *, pii: bool) -> list[str]:
    """The customers a partner trains on: under `pii` only those who consented (its node drops
    the others), so the pooled baseline and the membership attack's members are exactly the
    customers the federation trained on."""
    if pii:
        mine = apply_consent(mine, consent_column=pii_schema().consent_column)
    return [str(c) for c in mine["customer_id"].unique()]


def _by_partner(
    events: pd.DataFrame, partners: Mapping[str, npt.NDArray[np.str_]]
) -> Iterator[tuple[str, pd.DataFrame]]:
    """Each partner's events, in their order in ``events``, from one pass over ``events``.

    (A filter of the whole table per partner costs partners x events: a hundred passes over
    a million customers' events.)
    """
    names = list(partners)
    owner = pd.Series(
        np.repeat(np.arange(len(names), dtype=np.int64), [len(partners[n]) for n in names]),
        index=pd.Index(np.concatenate([partners[n] for n in names])),
    )
    # -1: a customer no partner kept. A stable sort keeps each partner's rows in table order.
    code = events["customer_id"].astype(str).map(owner).fillna(-1).to_numpy(dtype=np.int64)
    order = np.argsort(code, kind="stable")
    bounds = np.searchsorted(code[order], np.arange(len(names) + 1))
    for i, name in enumerate(names):
        yield name, events.iloc[order[bounds[i] : bounds[i + 1]]]


def _check_no_dp_budget(spec: SimulationSpec) -> None:
    """A partner with a finite ε budget never trains without DP (its node would refuse every
    round): stop before any data is written."""
    if spec.settings.dp:
        return
    budgets = {"every partner": spec.settings.epsilon_budget, **spec.budgets}
    finite = sorted(name for name, b in budgets.items() if math.isfinite(b))
    if finite:
        raise SimulationError(
            f"--no-dp with an epsilon budget ({', '.join(finite)}): a partner with a budget never "
            "trains without DP; drop the budget or train with DP"
        )


def _hold_out(
    events: pd.DataFrame, fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers kept away from every partner: the non-members of the membership attack."""
    if fraction <= 0:
        return events, events.iloc[0:0]
    ids = np.unique(events["customer_id"].to_numpy(dtype=str))
    rng = np.random.default_rng(seed + 7919)
    chosen = set(rng.choice(ids, size=max(1, int(len(ids) * fraction)), replace=False).tolist())
    held = events["customer_id"].isin(chosen)
    return events[~held], events[held]


def run_simulation(
    spec: SimulationSpec,
    *,
    on_progress: ProgressFn | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> SimulationResult:
    stage = on_stage or (lambda _msg: None)
    s = spec.settings
    stage("loading data")
    table = load_dataset(s.dataset, s.data_path or None, s.columns)
    prepared = prepare_run(spec, table)
    run_dir, resolved, sizes = prepared.run_dir, prepared.settings, prepared.partners
    stage(f"federated training: {len(sizes)} partners, {s.num_server_rounds} rounds")
    t0 = time.perf_counter()
    files = RunDir(run_dir)

    def poll() -> None:
        if on_progress:
            on_progress(read_progress(files.progress))

    try:
        with local_superlink(files.flower_dir, ray_address=spec.ray_address) as link:
            flwr_run(
                spec.app_dir,
                link,
                run_config=resolved.to_flower(),
                num_supernodes=len(sizes),
                num_cpus_per_client=1,
                log_path=files.flower_log,
                poll=poll,
                on_cluster=bool(spec.ray_address),
                ray_cpus=spec.partners_at_once,
            )
    except LaunchError as exc:
        why = why_no_model(read_progress(files.progress))
        raise SimulationError(f"{exc} ({why}); see also {files.progress}") from exc
    federated_seconds = time.perf_counter() - t0
    events = read_progress(files.progress)
    if not any(e.get(Progress.EVENT) == Progress.END for e in events):
        raise SimulationError(
            f"the Flower run ended without a final model ({why_no_model(events)}); "
            f"see {files.flower_log} and {files.progress}"
        )
    stage("each partner scores its own customers")
    score_partners(run_dir, resolved, explain=spec.explain)
    stage("baselines: centralized model, BG/NBD, naive rate")
    baselines = run_baselines(prepared.pooled, resolved, run_dir, non_members=prepared.non_members)
    value: dict[str, Any] = {}
    t0 = time.perf_counter()
    if spec.value_of_federation:
        stage("value of federation: each partner trains the model alone")
        value = value_of_federation(run_dir, resolved)
    value_seconds = time.perf_counter() - t0
    stage("verifying the audit log")
    audit = _audit_summary(run_dir)
    central = json.loads(files.federation_summary.read_text()).get("central_dp") or {}
    privacy_audit = None
    if prepared.canaries is not None:
        stage("privacy audit: scoring the canaries")
        privacy_audit = run_audit(run_dir, resolved, prepared.canaries, events)
    stage("report")
    report = write_report(
        run_dir,
        settings=resolved,
        table=table,
        partners=sizes,
        progress=events,
        baselines=baselines,
        federated_seconds=federated_seconds,
        audit=audit,
        central_dp=central,
        value_of_federation=value,
        value_of_federation_seconds=value_seconds if spec.value_of_federation else None,
        privacy_audit=privacy_audit,
    )
    return SimulationResult(run_dir=run_dir, report=report)


def simulation_trust(run_dir: Path) -> Any:
    """The trust a simulation's officer takes: the coordinator's key (the simulation runs the
    coordinator) and every simulated partner's public ``witness.vkey`` from its home."""
    from audit import TrustPolicy, audit_paths, read_keys, read_vkey

    homes = RunDir(run_dir).partner_homes
    return TrustPolicy(
        coordinator_key=read_vkey(audit_paths(run_dir)[1]),
        witness_keys=read_keys(sorted(homes.rglob("witness.vkey"))),
    )


def _audit_summary(run_dir: Path) -> dict[str, Any]:
    """The coordinator's audit summary, plus the offline verifier's verdict on the run, with
    the simulated partners' witness keys trusted and every partner's cosignature required."""
    from audit import AuditError, VerificationError, verify_run_dir

    files = RunDir(run_dir)
    federation = json.loads(files.federation_summary.read_text())
    summary: dict[str, Any] = dict(federation.get("audit", {}))
    try:
        # No model.pt when no round trained: the log alone is verified then.
        verify_run_dir(
            run_dir,
            model_path=files.model if files.model.exists() else None,
            trust=simulation_trust(run_dir),
        )
        summary["verified"] = True
    except (VerificationError, AuditError, OSError) as exc:
        summary["verified"] = False
        summary["error"] = str(exc)
    return summary


def why_no_model(events: list[dict[str, Any]]) -> str:
    """Why a run left no model, from its progress events: each partner's last stated reason for
    giving no update (a refusal, a dropout: bad data, a failed app with the exception's type),
    and the coordinator's own reason where the run stopped on an error.

    The reasons are the partners' words and the coordinator's (see ``coordinator.replies``):
    files, lines, columns, budgets and exception types, never a data value.
    """
    partners: dict[str, str] = {}
    stopped = ""
    for event in events:
        for name, reason in (event.get("refusals") or {}).items():
            partners[name] = f"refused: {reason or 'no reason given'}"
        dropouts = event.get("dropouts") or {}
        for name in dropouts:
            partners[name] = str(dropouts[name]) if isinstance(dropouts, dict) else "dropped out"
        if event.get(Progress.EVENT) in (Progress.FAILED, Progress.STOPPED) and event.get("reason"):
            stopped = str(event["reason"])
    parts = [f"{name}: {why}" for name, why in sorted(partners.items())]
    if stopped:
        parts.append(f"the coordinator stopped the run: {stopped}")
    return "; ".join(parts) or "no partner said why"
