"""``fedinsight node ...``: every command of a partner's client node.

``init`` creates the node's folder, ``check`` reads its data file as a run would, ``start`` runs
Flower's SuperNode in the foreground (Ctrl-C or SIGTERM stops it; it prints the plain Flower
command it runs), ``approve`` and ``approvals`` handle run manifests, ``prove`` shows whether a
customer was in a round's data, and ``forget`` and ``keygen`` are the pseudonymization commands
of ``cli.pii_cmd``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from cli import node_start_cmd, pii_cmd, score_cmd
from cli.deploy_common import (
    console,
    err,
    fail,
    print_manifest,
)

if TYPE_CHECKING:
    from client_node.data_check import DataCheck


def prove(
    customer_id: Annotated[str, typer.Argument(help="the customer's raw id (never leaves here)")],
    state_dir: Annotated[Path, typer.Option(help="the node's state folder")],
    run_id: Annotated[str, typer.Option(help="the Flower run id the round belongs to")],
    round_number: Annotated[int, typer.Option("--round", min=1)],
    partner: Annotated[str, typer.Option(help="partner label (default: state folder name)")] = "",
    run_dir: Annotated[
        Path | None, typer.Option(help="run directory: check the root against its audit log")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="write the proof as JSON")] = None,
    pseudonym_key: Annotated[
        Path | None,
        typer.Option(
            help="the node's pseudonymization key (default: as node.toml says, or "
            "keys/<folder-name>/pseudonym.key beside the state folder)"
        ),
    ] = None,
) -> None:
    """Prove that a customer's pseudonym was (or was not) in a round's data commitment."""
    from anonymization import AnonymizationError
    from audit import AuditError
    from client_node.commitments import proof_json, prove_customer
    from client_node.errors import ClientNodeError
    from client_node.home import open_state

    try:
        result = prove_customer(
            open_state(state_dir, pseudonym_key),
            customer_id,
            run_id=run_id,
            server_round=round_number,
            partner=partner or state_dir.name,
            run_dir=run_dir,
        )
    except (ClientNodeError, AnonymizationError, AuditError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from None
    verdict = "WAS" if result.member else "was NOT"
    console.print(
        f"the customer {verdict} in round {round_number}'s commitment "
        f"(root {result.commitment.root.hex()}, {result.commitment.tree_size} customers)"
    )
    if result.audit_root is not None:
        console.print("the root matches the audit log's record for this partner")
    if out is not None:
        out.write_text(proof_json(result))
        console.print(f"proof written to {out}")


def node_init(
    folder: Annotated[Path, typer.Argument(help="the node's folder (created)")],
    name: Annotated[str, typer.Option(help="the partner's name in the federation")],
    data: Annotated[Path, typer.Option(help="the partner's customer events (CSV or Parquet)")],
    superlink: Annotated[str, typer.Option(help="the coordinator's HOST:PORT")],
    root_cert: Annotated[Path, typer.Option(help="the coordinator's CA certificate (ca.pem)")],
    epsilon_budget: Annotated[
        float, typer.Option(help="the most ε this partner's customers may lose, over all runs")
    ] = 3.0,
    schema: Annotated[
        Path | None, typer.Option(help="column roles (TOML); default: customer_id only")
    ] = None,
    runtime_port: Annotated[
        int, typer.Option(help="local port of the SuperNode's runtime API")
    ] = 9094,
    no_check: Annotated[
        bool, typer.Option("--no-check", help="accept a data file that cannot be read (yet)")
    ] = False,
    pseudonym_key: Annotated[
        Path | None,
        typer.Option(
            help="where to keep the pseudonymization key, outside the node folder (an existing "
            "key there is used); asked on a terminal; default: keys/<folder-name>/pseudonym.key "
            "beside the folder"
        ),
    ] = None,
) -> None:
    """Create a node folder: SuperNode auth key pair, pseudonymization key (kept outside the
    folder, which records its path), witness key, ε budget, data path and schema. The data
    file is read first, as a run reads it: one that cannot be used is refused (unless
    --no-check) and no folder is written."""
    import sys

    from anonymization import AnonymizationError
    from client_node.errors import ClientNodeError
    from client_node.home import init_node
    from client_node.node_state import default_key_path
    from client_node.witnessing import cosigner
    from coordinator.errors import CoordinatorError
    from coordinator.home import check_partner_name

    if pseudonym_key is None and sys.stdin.isatty():
        pseudonym_key = Path(
            typer.prompt(
                "where to keep this node's pseudonymization key (outside the node folder)",
                default=str(default_key_path(folder.resolve())),
            )
        )
    try:
        check_partner_name(name)
        home = init_node(
            folder,
            name=name,
            data_path=data,
            superlink=superlink,
            root_certificates=root_cert,
            epsilon_budget=epsilon_budget,
            schema_path=schema,
            runtime_port=runtime_port,
            check_data=not no_check,
            pseudonym_key=pseudonym_key,
        )
    except (ClientNodeError, CoordinatorError, AnonymizationError) as exc:
        raise fail(str(exc)) from None
    if not data.exists():
        err.print(f"[yellow]warning:[/yellow] the data file {data} does not exist yet")
    console.print(f"node folder ready: {home.root}")
    if not no_check:
        console.print(f"  data file readable; summary: fedinsight node check {home.root}")
    console.print(
        f"  pseudonymization key: {home.state.pseudonym_key_path} (keep it, and a backup, "
        "apart from the node folder: without it this node's pseudonyms cannot be remade)"
    )
    console.print(f"  send the coordinator your public key: {home.public_key}")
    console.print(f"  witness key: {cosigner(home.state, name).verifier.vkey}")
    console.print(f"  then: fedinsight node start {home.root}")


def node_check(folder: Annotated[Path, typer.Argument(help="the node's folder")]) -> None:
    """Read the node's data file with its schema, as a run reads it, and show what it holds:
    rows, customers, the first and last day, rows left out and why. Counts and dates only,
    never a value. Exit 1 with the first problem (file, line, column) when it cannot be used."""
    from client_node.data_check import check_node_data
    from client_node.errors import ClientNodeError
    from client_node.home import NodeHome

    try:
        report = check_node_data(NodeHome(folder.resolve()))
    except ClientNodeError as exc:
        raise fail(str(exc)) from None
    console.print(_data_table(report))


def _data_table(report: DataCheck) -> Table:
    table = Table(title=f"data file {report.path}")
    table.add_column("")
    table.add_column("count or day", justify="right")
    table.add_row("rows read", str(report.rows_read))
    for reason, count in report.dropped.items():
        table.add_row(f"rows left out: {reason.replace('_', ' ')}", str(count))
    table.add_row("rows used", str(report.rows_kept))
    table.add_row("customers", str(report.customers))
    table.add_row("first day", report.first_day.isoformat())
    table.add_row("last day", report.last_day.isoformat())
    return table


def node_approve(
    folder: Annotated[Path, typer.Argument(help="the node's folder")],
    manifest_paths: Annotated[
        list[Path], typer.Argument(help="the run's manifest (JSON); several: each in turn")
    ],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Review a run's manifest and approve it: this node then trains for runs with exactly
    these code, architecture and terms. The privacy terms come first, with the noise multiplier
    this node's customers would get (resolved from its own data when the run calibrates it).

    Several manifests are reviewed one after the other, each shown and asked for on its own; a
    manifest that cannot be read stops the command before anything is approved, and a "no"
    stops it with exit 1 (the manifests approved before it stay approved)."""
    from audit import AuditError
    from client_node.approval import approve
    from client_node.errors import ClientNodeError
    from client_node.home import NodeHome
    from federation import ManifestError, read_manifest

    home = NodeHome(folder.resolve())
    try:
        home.config()
        manifests = [read_manifest(path) for path in manifest_paths]
    except (ManifestError, ClientNodeError) as exc:
        raise fail(str(exc)) from None
    for manifest in manifests:
        print_manifest(manifest, own_sigma=_own_sigma(home.root, manifest))
        _warn_privacy_refusals(home.root, manifest)
        if not yes and not typer.confirm("approve this run on your data?"):
            raise typer.Exit(code=1)
        try:
            path = approve(home.state, manifest, partner=home.partner_name())
        except AuditError as exc:
            raise fail(f"cannot join the run's audit log: {exc}") from None
        console.print(f"approved {manifest['manifest_sha256']} -> {path}")


def _warn_privacy_refusals(node_dir: Path, manifest: dict[str, Any]) -> None:
    """Warn of the privacy terms this node would refuse (no DP under a budget, another δ)."""
    from client_node.approval import privacy_refusals
    from client_node.errors import ClientNodeError
    from client_node.source import resolve_source
    from federation import FederationError, NodeConfig
    from privacy import PrivacyError

    try:
        source = resolve_source({}, {NodeConfig.NODE_DIR: str(node_dir)})
        reasons = privacy_refusals(source, manifest)
    except (ClientNodeError, FederationError, PrivacyError) as exc:
        err.print(f"[yellow]warning:[/yellow] cannot check this node's privacy terms: {exc}")
        return
    for reason in reasons:
        err.print(f"[bold red]warning:[/bold red] {reason}")


def _own_sigma(node_dir: Path, manifest: dict[str, Any]) -> str:
    """This node's noise multiplier for the run, as the approval prompt shows it; '' without DP.
    Data that cannot be loaded is a warning: the terms can be reviewed without it."""
    from anonymization import AnonymizationError
    from client_node.approval import over_budget, own_noise_multiplier
    from client_node.errors import ClientNodeError
    from client_node.source import resolve_source
    from federation import FederationError, NodeConfig
    from insight import InsightError
    from privacy import PrivacyError

    try:
        source = resolve_source({}, {NodeConfig.NODE_DIR: str(node_dir)})
        sigma = own_noise_multiplier(source, manifest)
    except (
        ClientNodeError,
        InsightError,
        AnonymizationError,
        FederationError,
        PrivacyError,
    ) as exc:
        err.print(f"[yellow]warning:[/yellow] cannot resolve this node's noise multiplier: {exc}")
        return "not resolved (see the warning)"
    if sigma is None:
        return ""
    if manifest["dp"]["noise-multiplier"] is not None:
        return f"{sigma:g} (fixed by the run)"
    over = over_budget(source, manifest)
    if over:
        err.print(f"[yellow]warning:[/yellow] {over}")
    return f"{sigma:.4f} (calibrated from this node's customers)"


def node_approvals(folder: Annotated[Path, typer.Argument(help="the node's folder")]) -> None:
    """List the run manifests this node approved."""
    from client_node.approval import approved
    from client_node.home import NodeHome

    entries = approved(NodeHome(folder.resolve()).state)
    if not entries:
        console.print("no run approved")
    for entry in entries:
        m = entry["manifest"]
        console.print(
            f"{m['manifest_sha256']}  approved {entry['approved_at']}  "
            f"rounds={m['training'].get('num-server-rounds')} "
            f"target-epsilon={m['dp'].get('target-epsilon')} dp={m['dp'].get('dp')}"
        )


node_app = typer.Typer(help="A partner's client node.", no_args_is_help=True)
# Registered in the order `fedinsight node --help` has always listed them.
node_app.command("forget")(pii_cmd.forget)
node_app.command("prove")(prove)
node_app.command("init")(node_init)
node_app.command("check")(node_check)
node_app.command("start")(node_start_cmd.node_start)
node_app.command("approve")(node_approve)
node_app.command("approvals")(node_approvals)
node_app.command("keygen", help="Create a partner's pseudonymization key file (0600).")(
    pii_cmd.keygen
)
node_app.command("score")(score_cmd.node_score)
