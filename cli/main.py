"""The ``fedinsight`` command line. The only layer that prints."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.audit_cmd import app as audit_app
from cli.bench_cmd import bench_app
from cli.coordinator_cmd import coordinator_app
from cli.node_cmd import node_app
from cli.pii_cmd import pseudonymize
from cli.simulate_options import (
    AuditKind,
    Canaries,
    Explain,
    PartnersAtOnce,
    PrivacyAudit,
    parse_budgets,
)
from cli.simulate_summary import print_summary
from cli.synthetic_data import SYNTHETIC_SPLIT, synthetic_file

app = typer.Typer(
    help="fedinsight: privacy-preserving federated customer insight.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(bench_app, name="bench")
console = Console()
err = Console(stderr=True)


# The options of `fedinsight simulate`, named here so that the command's signature stays a
# readable list; each alias carries its option's help text.
_Dataset = Annotated[
    str, typer.Option(help="cdnow (bundled), online-retail, synthetic (generated), or csv")
]
_DataFile = Annotated[Path | None, typer.Option(help="data file (online-retail, csv)")]
_Columns = Annotated[
    str,
    typer.Option(
        help="csv column mapping, e.g. customer_id=Cust,timestamp=Date,quantity=Qty,amount=Total"
    ),
]
_Partners = Annotated[int, typer.Option(min=1, help="number of partners")]
_Split = Annotated[
    str,
    typer.Option(
        help="iid | dirichlet:<alpha> | column:<name> (default: dirichlet:1.0; "
        "column:partner for synthetic)"
    ),
]
_Customers = Annotated[
    int, typer.Option(min=1, help="synthetic: customers in the generated federation")
]
_Skew = Annotated[
    float,
    typer.Option(
        min=0.0, help="synthetic: Dirichlet concentration of partner sizes (small: skewed)"
    ),
]
_Count = Annotated[int, typer.Option(min=1)]
_BatchSize = Annotated[
    int, typer.Option(min=1, help="local batch size (DP: the expected Poisson batch)")
]
_LearningRate = Annotated[float, typer.Option(min=0.0, help="local learning rate")]
_Seed = Annotated[int, typer.Option()]
_Out = Annotated[Path, typer.Option(help="parent of the run directory")]
_Date = Annotated[str | None, typer.Option(help="YYYY-MM-DD (dataset default)")]
_MinCustomers = Annotated[int, typer.Option(min=1, help="smallest partner kept")]
_Dp = Annotated[bool, typer.Option("--dp/--no-dp", help="DP-SGD at every partner")]
_TargetEpsilon = Annotated[
    float, typer.Option(min=0.0, help="epsilon each partner spends over the whole run")
]
_TargetDelta = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        max=1.0,
        help="the delta every partner trains at (default: min(1e-5, 1/(10 n)), n the largest "
        "partner's customers)",
    ),
]
_MaxGradNorm = Annotated[float, typer.Option(min=0.0, help="per-customer gradient clipping bound")]
_EpsilonBudget = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        help="each partner's cap on cumulative epsilon (default 3 with --dp, none with --no-dp; "
        "a partner with a budget never trains without DP)",
    ),
]
_Budgets = Annotated[str, typer.Option(help="per-partner budgets, e.g. partner-0=0.5,partner-1=3")]
_Accountant = Annotated[str, typer.Option(help="rdp or prv")]
_CentralDp = Annotated[
    bool,
    typer.Option(
        "--central-dp/--no-central-dp",
        help="also partner-level DP: the coordinator clips updates and noises the average",
    ),
]
_NonNegative = Annotated[float, typer.Option(min=0.0)]
_Pii = Annotated[
    bool,
    typer.Option(
        "--pii/--no-pii",
        help="give every customer a synthetic identity, notes and a consent flag "
        "(partners pseudonymize them before use)",
    ),
]
_Verbose = Annotated[bool, typer.Option("--verbose", "-v")]
_ValueOfFederation = Annotated[
    bool,
    typer.Option(
        "--value-of-federation/--no-value-of-federation",
        help="also train the model at each partner alone, to report what federating was worth "
        "(about the partners' training time again)",
    ),
]
_RayAddress = Annotated[
    str,
    typer.Option(
        help="host:port of a running Ray cluster (ray start --head) to run the partners on; "
        "default: a private Ray instance on this machine"
    ),
]


@app.command()
def simulate(
    dataset: _Dataset = "cdnow",
    data: _DataFile = None,
    columns: _Columns = "",
    partners: _Partners = 5,
    split: _Split = "",
    customers: _Customers = 100_000,
    skew: _Skew = 1.0,
    rounds: _Count = 5,
    local_epochs: _Count = 2,
    batch_size: _BatchSize = 256,
    learning_rate: _LearningRate = 3e-3,
    seed: _Seed = 42,
    out: _Out = Path("runs"),
    calibration_start: _Date = None,
    calibration_end: _Date = None,
    holdout_end: _Date = None,
    min_customers: _MinCustomers = 50,
    dp: _Dp = True,
    target_epsilon: _TargetEpsilon = 3.0,
    target_delta: _TargetDelta = None,
    max_grad_norm: _MaxGradNorm = 20.0,
    epsilon_budget: _EpsilonBudget = None,
    budgets: _Budgets = "",
    accountant: _Accountant = "rdp",
    central_dp: _CentralDp = False,
    central_noise_multiplier: _NonNegative = 1.0,
    central_clipping_norm: _NonNegative = 1.0,
    pii: _Pii = False,
    ray_address: _RayAddress = "",
    partners_at_once: PartnersAtOnce = 0,
    value_of_federation: _ValueOfFederation = True,
    explain: Explain = True,
    privacy_audit: PrivacyAudit = False,
    canaries: Canaries = 1000,
    audit_kind: AuditKind = "gradient",
    verbose: _Verbose = False,
) -> None:
    """Run a federated simulation on Flower's simulation engine and write a report."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    from federation import FederationError, RunSettings, find_app_dir
    from insight import InsightError
    from simulations import SimulationError, SimulationSpec, run_simulation

    start, cal, hold = _holdout_window(dataset, calibration_start, calibration_end, holdout_end)
    if epsilon_budget is None:
        epsilon_budget = 3.0 if dp else float("inf")
    if ray_address and partners_at_once:
        raise typer.BadParameter("not with --ray-address", param_hint="--partners-at-once")
    try:
        if dataset == "synthetic" and data is None:
            data = synthetic_file(out, customers=customers, partners=partners, skew=skew, seed=seed)
        split = split or (SYNTHETIC_SPLIT if dataset == "synthetic" else "dirichlet:1.0")
        settings = RunSettings(
            num_server_rounds=rounds,
            local_epochs=local_epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            seed=seed,
            dataset=dataset,
            data_path=str(data.resolve()) if data else "",
            columns=columns,
            dp=dp,
            target_epsilon=target_epsilon,
            target_delta=1e-5 if target_delta is None else target_delta,
            max_grad_norm=max_grad_norm,
            epsilon_budget=epsilon_budget,
            dp_accountant=accountant,
            central_dp=central_dp,
            central_noise_multiplier=central_noise_multiplier,
            central_clipping_norm=central_clipping_norm,
            split=split,
            num_partners=partners,
            min_partners=min(2, partners),
            calibration_start=start,
            calibration_end=cal,
            holdout_end=hold,
        )
        settings.validate()
        spec = SimulationSpec(
            settings=settings,
            out_dir=out,
            app_dir=find_app_dir(),
            min_customers=min_customers,
            pii=pii,
            budgets=parse_budgets(budgets),
            ray_address=ray_address,
            partners_at_once=partners_at_once,
            value_of_federation=value_of_federation,
            explain=explain,
            delta_from_partners=target_delta is None,
            canaries=canaries if privacy_audit else 0,
            audit_kind=audit_kind,
        )
        with _round_progress(rounds) as (on_progress, on_stage):
            result = run_simulation(spec, on_progress=on_progress, on_stage=on_stage)
    except (FederationError, InsightError, SimulationError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from None
    print_summary(console, result.report, result.run_dir)


def _holdout_window(
    dataset: str,
    calibration_start: str | None,
    calibration_end: str | None,
    holdout_end: str | None,
) -> tuple[str, str, str]:
    """The calibration start and end and the holdout end: those given, else the dataset's."""
    from insight import default_periods

    periods = default_periods(dataset)
    start_day = periods.calibration_start if periods else None
    start = calibration_start or (str(start_day.date()) if start_day is not None else None)
    cal = calibration_end or (str(periods.calibration_end.date()) if periods else None)
    hold = holdout_end or (str(periods.holdout_end.date()) if periods else None)
    if start is None or cal is None or hold is None:
        raise typer.BadParameter(
            "give --calibration-start, --calibration-end and --holdout-end for this dataset"
        )
    return start, cal, hold


_OnProgress = Callable[[list[dict[str, Any]]], None]
_OnStage = Callable[[str], None]


@contextlib.contextmanager
def _round_progress(rounds: int) -> Iterator[tuple[_OnProgress, _OnStage]]:
    """A progress bar of finished rounds with the last round's partner metrics; yields the
    ``on_progress`` and ``on_stage`` callbacks that drive it."""
    from federation import Progress as Event  # the progress file's events, not rich's bar

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} rounds"),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("starting", total=rounds, info="")

        def on_stage(msg: str) -> None:
            progress.update(task, description=msg)

        def on_progress(events: list[dict[str, Any]]) -> None:
            done = [e for e in events if e.get(Event.EVENT) == Event.ROUND]
            progress.update(task, completed=len(done), info=_round_info(done))

        yield on_progress, on_stage


def _round_info(done: list[dict[str, Any]]) -> str:
    """The partners' metrics after the last finished round ("" before the first)."""
    if not done:
        return ""
    last = done[-1]
    c = last.get("evaluate") or {}
    # The partners' figures are noised (privacy.evaluation); they release no correlation.
    auc = c.get("auc-any-repeat", float("nan"))
    mae = c.get("mae-purchases", float("nan"))
    return f"partners' noisy AUC {auc:.3f}  MAE {mae:.3f}  ({last['seconds']:.1f}s/round)"


@app.command()
def sweep(
    epsilons: Annotated[
        str, typer.Option(help="per-partner epsilons; inf = no DP")
    ] = "0.5,1,3,8,inf",
    partners: Annotated[int, typer.Option(min=1)] = 5,
    split: Annotated[str, typer.Option()] = "dirichlet:1.0",
    rounds: Annotated[int, typer.Option(min=1)] = 5,
    local_epochs: Annotated[int, typer.Option(min=1)] = 2,
    seed: Annotated[int, typer.Option()] = 42,
    out: Annotated[Path, typer.Option(help="folder for the runs, sweep.json, sweep.png")] = Path(
        "runs/sweep"
    ),
) -> None:
    """Privacy-utility sweep on CDNOW: one full simulation per epsilon."""
    from federation import FederationError, RunSettings, find_app_dir
    from simulations import SimulationError, SimulationSpec
    from simulations.sweep import epsilon_sweep, parse_epsilons

    try:
        values = parse_epsilons(epsilons)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    try:
        settings = RunSettings(
            num_server_rounds=rounds,
            local_epochs=local_epochs,
            num_partners=partners,
            split=split,
            seed=seed,
        )
        settings.validate()
        spec = SimulationSpec(settings=settings, out_dir=out, app_dir=find_app_dir())
    except FederationError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from None
    table = Table(title="privacy-utility sweep (CDNOW)")
    for col in ("epsilon", "AUC", "corr", "MAE purchases", "MIA AUC"):
        table.add_column(col, justify="right")

    def on_point(eps: float, p: dict[str, Any]) -> None:
        mia = p.get("mia_auc")
        console.print(
            f"epsilon {eps:g}: AUC {p['auc_any_repeat']:.4f}  corr {p['corr_purchases']:.4f}  "
            f"MIA AUC {mia if mia is None else round(mia, 4)}"
        )
        table.add_row(
            f"{eps:g}",
            f"{p['auc_any_repeat']:.4f}",
            f"{p['corr_purchases']:.4f}",
            f"{p['mae_purchases']:.4f}",
            "n/a" if mia is None else f"{mia:.4f}",
        )

    try:
        result = epsilon_sweep(spec, values, on_point=on_point)
    except (FederationError, SimulationError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from None
    console.print(table)
    ref = result["reference"]
    console.print(
        f"centralized non-private AUC {ref['centralized']['auc_any_repeat']:.4f}, "
        f"BG/NBD AUC {ref['bgnbd']['auc_any_repeat']:.4f}; written to {out / 'sweep.json'}"
    )


# Mounted last: `fedinsight --help` lists commands in the order they were added.
app.command("pseudonymize")(pseudonymize)
app.add_typer(audit_app, name="audit", help="The audit log: keys, proofs, verify, serve.")
app.add_typer(coordinator_app, name="coordinator")
app.add_typer(node_app, name="node")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
