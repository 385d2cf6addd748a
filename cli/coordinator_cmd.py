"""``fedinsight coordinator ...``: the coordinator's side of the deployment engine (Flower's
SuperLink) with TLS, SuperNode authentication and run manifests for partners to approve.

``coordinator start`` launches Flower's own process and stays in the foreground; Ctrl-C (or
SIGTERM) stops what it started. It also prints the plain Flower command it runs.
"""

from __future__ import annotations

import contextlib
import shlex
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.deploy_common import (
    console,
    err,
    fail,
    print_manifest,
    run_foreground,
    wait_for_serverapp,
)
from cli.run_view import print_evaluation

if TYPE_CHECKING:
    from coordinator.home import CoordinatorHome

coordinator_app = typer.Typer(
    help="The coordinator's side of a deployment: TLS, allow-list, SuperLink, runs.",
    no_args_is_help=True,
)


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
        raise fail(str(exc)) from None
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
        raise fail(str(exc)) from None
    console.print(f"allowed {name} ({fingerprint}) -> {path}")
    if (home.root / "superlink.pid").exists():
        _register(home, {name: path})


def _register(home: CoordinatorHome, keys: dict[str, Path]) -> None:
    from federation import flower_bin, flower_env

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
    from federation import flower_bin, flower_env, wait_for_port

    home = CoordinatorHome(folder.resolve())
    try:
        cmd = superlink_command(home, flower_bin("flower-superlink"))
    except CoordinatorError as exc:
        raise fail(str(exc)) from None
    from cli.deploy_common import refuse_busy_port

    listen_host = str(home.config().get("listen-host", "127.0.0.1"))
    pid_path = home.root / "superlink.pid"
    refuse_busy_port(listen_host, home.port, what="the SuperLink", pid_path=pid_path)
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

    code = run_foreground(
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

    from federation import LaunchError, RunSettings, SettingsError, find_app_dir

    try:
        app_dir = find_app_dir()
    except LaunchError as exc:
        raise fail(str(exc)) from None
    defaults = tomllib.loads((app_dir / "pyproject.toml").read_text())["tool"]["flwr"]["app"][
        "config"
    ]
    loose = [w for w in run_config.split() if "=" not in w and not w.startswith(("'", '"'))]
    if loose and not any(c in run_config for c in "\"'"):
        raise fail(f"--run-config: {', '.join(loose)!r} is not KEY=VALUE")
    try:
        overrides = parse_config_args([run_config]) if run_config.strip() else {}
    except Exception as exc:  # flwr raises ValueError or tomllib errors
        raise fail(f"--run-config {run_config!r}: {exc}") from None
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise fail(f"--run-config: unknown key(s) {', '.join(unknown)}")
    try:
        return RunSettings.from_mapping({**defaults, **overrides}), dict(overrides)
    except SettingsError as exc:
        raise fail(str(exc)) from None


@coordinator_app.command("manifest")
def coordinator_manifest(
    out: Annotated[Path, typer.Option(help="where to write the manifest (JSON)")],
    run_config: Annotated[
        str, typer.Option(help="run-config overrides, as for flwr run: 'num-server-rounds=5'")
    ] = "",
    folder: Annotated[
        Path | None,
        typer.Option(help="the coordinator's folder: with --name, the manifest names the log"),
    ] = None,
    name: Annotated[str, typer.Option(help="the run's name (as for coordinator run)")] = "",
) -> None:
    """Write the manifest of a run (code, architecture, DP and training terms) for partners to
    review and approve (`fedinsight node approve`). With --folder and --name it also names the
    run's audit log (its origin and the coordinator's key), which partners pin on approval."""
    from federation import run_manifest, with_audit_log, write_manifest

    settings, _ = _run_settings(run_config)
    manifest = run_manifest(settings)
    if folder is not None and name:
        from coordinator.audit_trail import run_origin
        from coordinator.home import CoordinatorHome

        signer = CoordinatorHome(folder.resolve()).signer()
        origin = run_origin(signer, Path(name))
        manifest = with_audit_log(manifest, origin=origin, coordinator_vkey=signer.verifier.vkey)
    elif folder is not None or name:
        raise fail("--folder and --name go together (they name the run's audit log)")
    write_manifest(manifest, out)
    print_manifest(manifest)
    console.print(f"manifest written to {out}")


# Exit codes of ``coordinator run`` (README, "Deployment"): 0 the run finished with a model;
# 1 an error, a refusal (name in use, another run config) or a run that trained no round;
# 3 the run had already finished (nothing was run; its summary is printed).
ALREADY_FINISHED = 3


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
    the same command again after a coordinator crash resumes the run after its last round.

    A name runs once: while it runs a second submission is refused; once it finished, it is
    reported (exit 3) and never run again; a different run config under it is refused, naming
    the keys that differ. Exit 0: finished with a model; 1: refused, failed, or no round
    trained (each partner's stated reason is printed)."""
    import dataclasses

    from coordinator.errors import CoordinatorError
    from coordinator.home import CONNECTION, CoordinatorHome, check_partner_name
    from federation import app_bundle_dir, find_app_dir, flower_bin, toml_value

    home = CoordinatorHome(folder.resolve())
    try:
        home.config()
        check_partner_name(name)
    except CoordinatorError as exc:
        raise fail(str(exc)) from None
    settings, overrides = _run_settings(run_config)
    run_dir = home.runs_dir / name
    overrides.update({"run-dir": str(run_dir), "audit-key": str(home.audit_key)})
    settings = dataclasses.replace(settings, run_dir=str(run_dir), audit_key=str(home.audit_key))
    text = " ".join(f"{k}={toml_value(v)}" for k, v in overrides.items())
    with _claim(run_dir, settings), app_bundle_dir(find_app_dir()) as bundle:
        cmd = [flower_bin("flwr"), "run", str(bundle), CONNECTION, "--run-config", text]
        cmd.append("--stream")
        console.print(f"FLWR_HOME={home.flwr_home} " + shlex.join(cmd))
        log_path = home.logs_dir / f"run-{name}.log"
        t0 = time.monotonic()
        _submit_and_follow(cmd, home, run_dir, log_path, timeout)
        _report_end(name, run_dir, log_path, time.monotonic() - t0)


@contextlib.contextmanager
def _claim(run_dir: Path, settings: Any) -> Iterator[None]:
    """Hold the run's submission lock while the run is followed, after checking the name is
    free: no live ServerApp runs it, it did not finish, its stored run config is ``settings``'s.
    A refusal is one line (exit 1), a finished run its summary (exit ``ALREADY_FINISHED``)."""
    from coordinator.errors import CoordinatorError, RunFinishedError
    from coordinator.run_guard import (
        RunLock,
        check_not_finished,
        check_same_config,
    )
    from federation import RunDir

    files = RunDir(run_dir)
    submission = RunLock(files.submit_lock, what=f"a submission of run {run_dir.name}")
    try:
        submission.acquire()
        with RunLock(files.lock, what=f"run {run_dir.name}"):
            check_not_finished(run_dir)
            check_same_config(run_dir, settings)
    except RunFinishedError as exc:
        submission.release()
        console.print(str(exc))
        raise typer.Exit(code=ALREADY_FINISHED) from None
    except CoordinatorError as exc:
        submission.release()
        raise fail(str(exc)) from None
    try:
        yield
    finally:
        submission.release()


def _submit_and_follow(
    cmd: list[str], home: CoordinatorHome, run_dir: Path, log_path: Path, timeout: float
) -> None:
    """``flwr run`` in its own process group, followed until the run's end (or failure)
    event, or ``timeout``, each event shown as it comes (``cli.run_view``); the process group
    is stopped on the way out."""
    from cli.run_view import RunView
    from coordinator.progress import read_progress
    from federation import RunDir, find_app_dir, flower_env, stop_process_group

    log_path.parent.mkdir(parents=True, exist_ok=True)
    progress = RunDir(run_dir).progress
    before = len(read_progress(progress))  # a resumed run's file holds earlier submissions'
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
        with RunView(console, run_dir.name) as view:
            while proc.poll() is None and time.monotonic() - t0 < timeout:
                time.sleep(0.5)
                events = read_progress(progress)[before:]  # this submission's
                view.update(events)
                if _ended(events) or _failed(events):
                    break
            view.update(read_progress(progress)[before:])
        if _ended(read_progress(progress)[before:]):
            wait_for_serverapp(run_dir, deadline=t0 + timeout)
    finally:
        stop_process_group(proc)


def _report_end(name: str, run_dir: Path, log_path: Path, seconds: float) -> None:
    """Print how the run ended; exit 1 when it did not, or trained no round."""
    from coordinator.progress import read_progress
    from federation import Progress, RunDir

    events = read_progress(RunDir(run_dir).progress)
    end = _ended(events)
    if end is None:
        failed = _failed(events)
        if failed is not None:
            raise fail(
                f"run {name} failed after {seconds:.1f}s: {failed.get('reason')}; submit it "
                f"again to resume it after its last recorded round (log: {log_path})"
            )
        raise fail(f"the run did not finish; see {log_path}")
    rounds = [e for e in events if e.get(Progress.EVENT) == Progress.ROUND]
    if not end.get("final_model_sha256"):
        raise fail(
            f"run {name} ended after {seconds:.1f}s without training a round; no model was "
            f"saved: {end.get('stopped_early') or 'no round released a model'}"
        )
    console.print(
        f"run {name} finished in {seconds:.1f}s: {len(rounds)} round(s), "
        f"final model {end['final_model_sha256'][:16]}…"
        + (f"; stopped early: {end['stopped_early']}" if end.get("stopped_early") else "")
    )
    if rounds and rounds[-1].get("evaluate"):
        print_evaluation(console, rounds[-1]["evaluate"])
    console.print(f"run directory: {run_dir}")


def _ended(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    from federation import Progress

    return next((e for e in reversed(events) if e.get(Progress.EVENT) == Progress.END), None)


def _failed(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The run's failure event, when it failed after its last start or resume."""
    from federation import Progress

    for event in reversed(events):
        if event.get(Progress.EVENT) == Progress.FAILED:
            return dict(event)
        if event.get(Progress.EVENT) in (Progress.START, Progress.RESUME):
            return None
    return None
