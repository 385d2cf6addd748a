"""``fedinsight node start``: the partner's SuperNode (Flower's, through
``client_node.supernode_main``) and its worker, in the foreground."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.deploy_common import console, fail, refuse_busy_port, run_foreground
from client_node.supernode_main import DEFAULT_IDLE_POLL_S, HEARTBEAT_RANGE_S

if TYPE_CHECKING:
    from client_node.home import NodeHome


def node_start(
    folder: Annotated[Path, typer.Argument(help="the node's folder")],
    node_config: Annotated[
        str, typer.Option(help="extra node-config pairs for Flower, e.g. 'inject-fault=\"nan\"'")
    ] = "",
    no_check: Annotated[
        bool, typer.Option("--no-check", help="start even if the data file cannot be read")
    ] = False,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="no partner-side worker: every message is worked in Flower's ClientApp process",
        ),
    ] = False,
    idle_poll: Annotated[
        float,
        typer.Option(
            min=0.01,
            max=60.0,
            help="seconds between the idle SuperNode's looks for a message (Flower's own: 3)",
        ),
    ] = DEFAULT_IDLE_POLL_S,
    exec_clientapps: Annotated[
        bool,
        typer.Option(
            "--exec-clientapps",
            help="start each ClientApp process as Flower does, not forked with Flower imported",
        ),
    ] = False,
    heartbeat: Annotated[
        float | None,
        typer.Option(
            min=HEARTBEAT_RANGE_S[0],
            max=HEARTBEAT_RANGE_S[1],
            help="the heartbeat interval in seconds the node announces (Flower's own: 30); the "
            "coordinator's SuperLink counts a node gone after two missed",
        ),
    ] = None,
) -> None:
    """Read the node's data file as a run would (stop if it cannot be used, unless
    --no-check), then start Flower's SuperNode with TLS (the coordinator's CA), the node's auth
    key and its folder as node config; stays in the foreground (Ctrl-C stops it). Shows each
    change of state: connecting, retrying (and why), connected, refused by the coordinator,
    port in use, a run refused (and why), stopped. Exits 1 with the reason when the SuperNode
    ends without being stopped. Beside the SuperNode it runs the node's worker, which keeps
    torch and the partner's code loaded between messages (``client_node.worker``). The
    SuperNode is Flower's, started through ``client_node.supernode_main`` so that an idle node
    looks for its next message every --idle-poll seconds instead of Flower's fixed 3, and so
    that each message's ClientApp process is forked from one with Flower already imported
    (``client_node.clientapp_fork``; --exec-clientapps: Flower's own start). --heartbeat sets how
    soon a node that died mid-round is counted as a dropout (after two missed heartbeats); Flower
    sends one about every (SECONDS - 5) x 0.8 s."""
    from client_node.data_check import check_node_data
    from client_node.errors import ClientNodeError
    from client_node.home import NodeHome, supernode_command
    from client_node.supernode_main import launcher

    home = NodeHome(folder.resolve())
    try:
        config = home.config()
        if not no_check:
            report = check_node_data(home)
            console.print(
                f"data: {report.rows_kept} rows, {report.customers} customers, "
                f"{report.first_day} to {report.last_day}"
            )
        start = launcher(idle_poll, fork_clientapps=not exec_clientapps, heartbeat_s=heartbeat)
        cmd = supernode_command(home, start, extra=node_config)
    except ClientNodeError as exc:
        raise fail(str(exc)) from None
    _run(home, cmd, config, worker=not no_worker)


def _run(home: NodeHome, cmd: list[str], config: dict[str, Any], *, worker: bool) -> None:
    """The SuperNode in the foreground (started again while the watch says so), with the
    node's worker beside it; exits as the watch decides."""
    from cli.node_watch import NodeWatch
    from cli.node_worker import node_worker
    from federation import flower_env

    pid_path = home.root / "supernode.pid"
    runtime_port = int(config.get("runtime-port", 9094))
    refuse_busy_port("127.0.0.1", runtime_port, what="the SuperNode", pid_path=pid_path)
    console.print("running: " + shlex.join(cmd))
    log_path = home.root / "logs" / "supernode.log"
    watch = NodeWatch(str(config.get("superlink", "")), log_path, console.print)
    env = flower_env(home.root / "flwr-home")  # where the SuperNode installs the app
    with node_worker(home.root, env=env, log_path=log_path, enabled=worker):
        while True:
            code = run_foreground(
                cmd,
                env=env,
                log_path=log_path,
                pid_path=pid_path,
                ready=lambda p: console.print(f"SuperNode started (pid {p.pid}); log: {log_path}"),
                on_line=watch.line,
                on_stop=watch.stopped,
            )
            pause = watch.pause_before_restart()
            if pause is None:
                break
            try:
                time.sleep(pause)
            except KeyboardInterrupt:
                watch.stopped()
                break
    code, reason = watch.ending(code)
    if code:
        raise fail(reason)
    raise typer.Exit(code=0)
