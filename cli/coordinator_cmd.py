"""``fedinsight coordinator ...`` and ``fedinsight node init|start|approve``: the deployment
engine (Flower's SuperLink and SuperNodes) with TLS, SuperNode authentication and run approval.

The start commands launch Flower's own processes and stay in the foreground; Ctrl-C (or
SIGTERM) stops what they started. Each also prints the plain Flower command it runs.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from coordinator.home import CoordinatorHome

console = Console()
err = Console(stderr=True)

coordinator_app = typer.Typer(
    help="The coordinator's side of a deployment: TLS, allow-list, SuperLink, runs.",
    no_args_is_help=True,
)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


def _run_foreground(
    cmd: list[str],
    *,
    env: dict[str, str],
    log_path: Path,
    pid_path: Path,
    ready: Callable[[subprocess.Popen[bytes]], None] | None = None,
) -> int:
    """Start ``cmd`` in its own session, call ``ready(proc)`` once it runs, wait; on SIGINT or
    SIGTERM stop it with every process it started. Returns the child's exit code."""
    from simulations.flower_engine import kill_tree

    log_path.parent.mkdir(parents=True, exist_ok=True)
    stopping: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    pid_path.write_text(f"{proc.pid}\n")
    try:
        if ready is not None:
            ready(proc)
        while proc.poll() is None and not stopping:
            time.sleep(0.3)
    finally:
        kill_tree(proc.pid, signal.SIGTERM, timeout=15.0)
        proc.wait(timeout=5)
        with contextlib.suppress(FileNotFoundError):
            pid_path.unlink()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if stopping else int(proc.returncode or 0)


# ----------------------------------------------------------------------------- coordinator


@coordinator_app.command("init")
def coordinator_init(
    folder: Annotated[Path, typer.Argument(help="the coordinator's folder (created)")],
    address: Annotated[
        str, typer.Option(help="HOST:PORT partners dial; HOST goes in the TLS certificate")
    ] = "127.0.0.1:9091",
    listen_host: Annotated[
        str, typer.Option(help="where the SuperLink listens (0.0.0.0 for every interface)")
    ] = "127.0.0.1",
    name: Annotated[
        list[str] | None, typer.Option("--name", help="extra DNS name or IP for the certificate")
    ] = None,
) -> None:
    """Create a CA and a server certificate for TLS, the audit signing key, an empty allow-list."""
    from coordinator.errors import CoordinatorError
    from coordinator.home import init_coordinator

    try:
        home = init_coordinator(
            folder, address=address, listen_host=listen_host, names=tuple(name or ())
        )
    except CoordinatorError as exc:
        raise _fail(str(exc)) from None
    console.print(f"coordinator folder ready: {home.root}")
    console.print(f"  give partners the CA certificate: {home.tls.ca_cert}")
    console.print(f"  privacy officers verify with:     {home.root / 'audit.vkey'}")
    console.print(
        "  allow each partner's SuperNode key: "
        f"fedinsight coordinator allow {home.root} PARTNER.pub --name PARTNER"
    )
    console.print(f"  then: fedinsight coordinator start {home.root}")


@coordinator_app.command("allow")
def coordinator_allow(
    folder: Annotated[Path, typer.Argument(help="the coordinator's folder")],
    public_key: Annotated[Path, typer.Argument(help="the partner's auth/node.pub")],
    name: Annotated[str, typer.Option(help="the partner's name")],
) -> None:
    """Add a partner's SuperNode public key to the allow-list (registered at the next start,
    or now if the SuperLink runs)."""
    from coordinator.errors import CoordinatorError
    from coordinator.home import CoordinatorHome, allow_node

    home = CoordinatorHome(folder.resolve())
    try:
        home.config()
        path, fingerprint = allow_node(home, public_key, name)
    except CoordinatorError as exc:
        raise _fail(str(exc)) from None
    console.print(f"allowed {name} ({fingerprint}) -> {path}")
    if (home.root / "superlink.pid").exists():
        _register(home, {name: path})


def _register(home: CoordinatorHome, keys: dict[str, Path]) -> None:
    from simulations.flower_engine import flower_bin, flower_env

    env = flower_env(home.flwr_home)
    for name, path in keys.items():
        out = subprocess.run(
            [flower_bin("flwr"), "supernode", "register", str(path), "fedinsight", "--name", name],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        text = (out.stdout + out.stderr).strip()
        if out.returncode == 0 and "registered successfully" in text:
            console.print(f"registered {name}")
        elif "already" in text.lower() or "exists" in text.lower():
            console.print(f"{name} was registered before")
        else:
            err.print(f"[yellow]could not register {name}:[/yellow] {text[-500:]}")


@coordinator_app.command("start")
def coordinator_start(
    folder: Annotated[Path, typer.Argument(help="the coordinator's folder")],
) -> None:
    """Start Flower's SuperLink with TLS, SuperNode authentication against the allow-list and
    a persistent database; stays in the foreground (Ctrl-C stops it)."""
    from coordinator.errors import CoordinatorError
    from coordinator.home import CoordinatorHome, superlink_command, write_flwr_config
    from simulations.flower_engine import flower_bin, flower_env, wait_for_port

    home = CoordinatorHome(folder.resolve())
    try:
        cmd = superlink_command(home, flower_bin("flower-superlink"))
    except CoordinatorError as exc:
        raise _fail(str(exc)) from None
    write_flwr_config(home)
    log_path = home.logs_dir / "superlink.log"
    console.print("running: " + shlex.join(cmd))

    def ready(proc: subprocess.Popen[bytes]) -> None:
        wait_for_port(home.port, proc, log_path)
        _register(home, home.allow_list())
        console.print(
            f"SuperLink ready on {home.address} (TLS, SuperNode authentication); log: {log_path}"
        )
        console.print(f"submit a run: fedinsight coordinator run {home.root} --name NAME")

    code = _run_foreground(
        cmd,
        env=flower_env(home.flwr_home),
        log_path=log_path,
        pid_path=home.root / "superlink.pid",
        ready=ready,
    )
    raise typer.Exit(code=code)


def _run_settings(run_config: str) -> tuple[Any, dict[str, Any]]:
    """The run's settings: the app's defaults (pyproject.toml) with ``run_config`` on top."""
    import tomllib

    from flwr.common.config import parse_config_args

    from cli.main import find_app_dir
    from insight import InsightError, RunSettings

    defaults = tomllib.loads((find_app_dir() / "pyproject.toml").read_text())["tool"]["flwr"][
        "app"
    ]["config"]
    loose = [w for w in run_config.split() if "=" not in w and not w.startswith(("'", '"'))]
    if loose and not any(c in run_config for c in "\"'"):
        raise _fail(f"--run-config: {', '.join(loose)!r} is not KEY=VALUE")
    try:
        overrides = parse_config_args([run_config]) if run_config.strip() else {}
    except Exception as exc:  # flwr raises ValueError or tomllib errors
        raise _fail(f"--run-config {run_config!r}: {exc}") from None
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise _fail(f"--run-config: unknown key(s) {', '.join(unknown)}")
    try:
        return RunSettings.from_mapping({**defaults, **overrides}), dict(overrides)
    except InsightError as exc:
        raise _fail(str(exc)) from None


@coordinator_app.command("manifest")
def coordinator_manifest(
    out: Annotated[Path, typer.Option(help="where to write the manifest (JSON)")],
    run_config: Annotated[
        str, typer.Option(help="run-config overrides, as for flwr run: 'num-server-rounds=5'")
    ] = "",
) -> None:
    """Write the manifest of a run (code, architecture, DP and training terms) for partners to
    review and approve (`fedinsight node approve`)."""
    from insight.manifest import run_manifest, write_manifest

    settings, _ = _run_settings(run_config)
    manifest = run_manifest(settings)
    write_manifest(manifest, out)
    _print_manifest(manifest)
    console.print(f"manifest written to {out}")


def _print_manifest(manifest: dict[str, Any]) -> None:
    table = Table(title=f"run manifest {manifest['manifest_sha256'][:16]}…")
    table.add_column("term")
    table.add_column("value")
    table.add_row("code sha256", manifest["code_sha256"])
    table.add_row("architecture sha256", manifest["architecture_sha256"])
    for section in ("dp", "training"):
        for key, value in manifest[section].items():
            table.add_row(f"{section}.{key}", str(value))
    console.print(table)


@coordinator_app.command("run")
def coordinator_run(
    folder: Annotated[Path, typer.Argument(help="the coordinator's folder")],
    name: Annotated[str, typer.Option(help="the run's name: its folder under runs/")],
    run_config: Annotated[
        str, typer.Option(help="run-config overrides, as for flwr run: 'num-server-rounds=5'")
    ] = "",
    timeout: Annotated[float, typer.Option(help="give up after this many seconds")] = 24 * 3600,
) -> None:
    """Submit the app to the running SuperLink (`flwr run`) and follow it to the end. Running
    the same command again after a coordinator crash resumes the run after its last round."""
    from cli.main import find_app_dir
    from coordinator.errors import CoordinatorError
    from coordinator.home import CONNECTION, CoordinatorHome, check_partner_name
    from coordinator.progress import read_progress
    from simulations.flower_engine import flower_bin, flower_env, stop_process_group, toml_value

    home = CoordinatorHome(folder.resolve())
    try:
        home.config()
        check_partner_name(name)
    except CoordinatorError as exc:
        raise _fail(str(exc)) from None
    _, overrides = _run_settings(run_config)
    run_dir = home.runs_dir / name
    overrides.update({"run-dir": str(run_dir), "audit-key": str(home.audit_key)})
    text = " ".join(f"{k}={toml_value(v)}" for k, v in overrides.items())
    cmd = [flower_bin("flwr"), "run", str(find_app_dir()), CONNECTION, "--run-config", text]
    cmd.append("--stream")
    console.print(f"FLWR_HOME={home.flwr_home} " + shlex.join(cmd))
    log_path = home.logs_dir / f"run-{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=flower_env(home.flwr_home),
            cwd=find_app_dir(),
            start_new_session=True,
        )
    try:
        while proc.poll() is None and time.monotonic() - t0 < timeout:
            time.sleep(0.5)
            if _ended(read_progress(run_dir / "progress.jsonl")):
                break
    finally:
        stop_process_group(proc)
    events = read_progress(run_dir / "progress.jsonl")
    end = _ended(events)
    if end is None:
        raise _fail(f"the run did not finish; see {log_path}")
    rounds = [e for e in events if e.get("event") == "round"]
    console.print(
        f"run {name} finished in {time.monotonic() - t0:.1f}s: {len(rounds)} round(s), "
        f"final model {end['final_model_sha256'][:16]}…"
        + (f"; stopped early: {end['stopped_early']}" if end.get("stopped_early") else "")
    )
    if rounds and rounds[-1].get("evaluate"):
        console.print(json.dumps(rounds[-1]["evaluate"], indent=1, sort_keys=True))
    console.print(f"run directory: {run_dir}")


def _ended(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((e for e in reversed(events) if e.get("event") == "end"), None)


# ----------------------------------------------------------------------------- node


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
) -> None:
    """Create a node folder: SuperNode auth key pair, pseudonymization key, witness key,
    ε budget, data path and schema."""
    from anonymization import AnonymizationError
    from client_node.errors import ClientNodeError
    from client_node.home import init_node
    from client_node.witnessing import cosigner
    from coordinator.errors import CoordinatorError
    from coordinator.home import check_partner_name

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
        )
    except (ClientNodeError, CoordinatorError, AnonymizationError) as exc:
        raise _fail(str(exc)) from None
    if not data.exists():
        err.print(f"[yellow]warning:[/yellow] the data file {data} does not exist yet")
    console.print(f"node folder ready: {home.root}")
    console.print(f"  send the coordinator your public key: {home.public_key}")
    console.print(f"  witness key: {cosigner(home.state, name).verifier.vkey}")
    console.print(f"  then: fedinsight node start {home.root}")


def node_start(
    folder: Annotated[Path, typer.Argument(help="the node's folder")],
    node_config: Annotated[
        str, typer.Option(help="extra node-config pairs for Flower, e.g. 'inject-fault=\"nan\"'")
    ] = "",
) -> None:
    """Start Flower's SuperNode with TLS (the coordinator's CA), the node's auth key and its
    folder as node config; stays in the foreground (Ctrl-C stops it)."""
    from client_node.errors import ClientNodeError
    from client_node.home import NodeHome, supernode_command
    from simulations.flower_engine import flower_bin, flower_env

    home = NodeHome(folder.resolve())
    try:
        cmd = supernode_command(home, flower_bin("flower-supernode"), extra=node_config)
    except ClientNodeError as exc:
        raise _fail(str(exc)) from None
    console.print("running: " + shlex.join(cmd))
    log_path = home.root / "logs" / "supernode.log"
    env = flower_env(home.root / "flwr-home")  # where the SuperNode installs the app
    code = _run_foreground(
        cmd,
        env=env,
        log_path=log_path,
        pid_path=home.root / "supernode.pid",
        ready=lambda _proc: console.print(f"SuperNode started; log: {log_path}"),
    )
    raise typer.Exit(code=code)


def node_approve(
    folder: Annotated[Path, typer.Argument(help="the node's folder")],
    manifest_path: Annotated[Path, typer.Argument(help="the run's manifest (JSON)")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Review a run's manifest and approve it: this node then trains for runs with exactly
    these code, architecture, DP and training terms."""
    from client_node.approval import approve
    from client_node.errors import ClientNodeError
    from client_node.home import NodeHome
    from insight import InsightError
    from insight.manifest import read_manifest

    home = NodeHome(folder.resolve())
    try:
        home.config()
        manifest = read_manifest(manifest_path)
    except (InsightError, ClientNodeError) as exc:
        raise _fail(str(exc)) from None
    _print_manifest(manifest)
    if not yes and not typer.confirm("approve this run on your data?"):
        raise typer.Exit(code=1)
    path = approve(home.state, manifest)
    console.print(f"approved {manifest['manifest_sha256']} -> {path}")


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
