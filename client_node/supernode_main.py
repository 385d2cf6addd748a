"""Flower's SuperNode, with an idle poll the partner chooses.

Flower 1.42's SuperNode loop asks the SuperLink for a message; when there is none it sleeps a
fixed 3 s before asking again (``time.sleep(3)`` in ``flwr.supernode.start_client_internal``,
with no option to change it). Right after a node replies, the coordinator still waits for the
other partners, so the node's next look finds nothing and the next message waits out those
3 s: every phase of a deployed run (hello, train, cosign, evaluate, the model's homecoming)
pays them (docs/deployment-speed.md).

``python -m client_node.supernode_main --idle-poll SECONDS -- ARGS`` runs Flower's own
``flower-supernode`` entry point with ARGS, its loop unchanged except that no wait in that
module lasts longer than SECONDS: the idle look, and the 0.5 s looks for the ClientApp's reply.
Everything else, the isolation mode included, is Flower's. A smaller value costs the SuperLink
one request every SECONDS from each idle node. ``fedinsight node start --idle-poll 3`` keeps
Flower's own behaviour.

When the installed Flower no longer has the wait this module shortens, the SuperNode runs
unchanged and a warning says so.

The SuperNode starts Flower's SuperExec, which starts the ClientApp processes. Unless
``--exec-clientapps`` comes first, the SuperExec is started through
``client_node.clientapp_fork``, which forks each ClientApp process from one that has Flower
imported already (``fedinsight node start --exec-clientapps`` turns it off).

``--heartbeat SECONDS`` sets the interval the node announces to the SuperLink and sends its
heartbeats at (Flower's fixed ``HEARTBEAT_DEFAULT_INTERVAL``, 30 s, with no option). The
SuperLink counts a node gone after two missed intervals, so a node killed mid-round holds the
round up for at most 2 x SECONDS. Flower's SuperLink accepts 10 to 1800 s.
"""

from __future__ import annotations

import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from types import ModuleType

from client_node.clientapp_fork import SubprocessStandIn, replace_subprocess

DEFAULT_IDLE_POLL_S = 0.5
FLAG = "--idle-poll"
EXEC_FLAG = "--exec-clientapps"
HEARTBEAT_FLAG = "--heartbeat"
HEARTBEAT_RANGE_S = (10.0, 1800.0)  # what Flower's SuperLink accepts (fleet_handlers)
SUPEREXEC_COMMAND = "flower-superexec"


class CappedSleep:
    """Stands in for the ``time`` module inside one Flower module: every attribute is
    ``time``'s, except that ``sleep`` waits at most ``cap_s`` seconds."""

    def __init__(self, cap_s: float) -> None:
        self.cap_s = cap_s

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, self.cap_s))


def cap_idle_poll(module: ModuleType, cap_s: float) -> bool:
    """Give ``module`` (Flower's SuperNode loop) a ``time`` whose waits last at most ``cap_s``;
    False, and nothing changed, when the module does not use ``time`` as expected."""
    if getattr(module, "time", None) is not time:
        return False
    module.time = CappedSleep(cap_s)  # type: ignore[attr-defined]
    return True


class SuperExecThroughFork(SubprocessStandIn):
    """Stands in for ``subprocess`` inside Flower's SuperNode module: ``Popen`` of the
    ``flower-superexec`` command line runs the same arguments through
    ``client_node.clientapp_fork``."""

    def Popen(self, args: object, **kwargs: object) -> object:  # subprocess's name
        if isinstance(args, list) and args[:1] == [SUPEREXEC_COMMAND]:
            args = [sys.executable, "-m", "client_node.clientapp_fork", *args[1:]]
        return subprocess.Popen(args, **kwargs)  # type: ignore[call-overload]


def set_heartbeat(seconds: float) -> bool:
    """Make this process's SuperNode announce and keep a heartbeat of ``seconds``; False, and
    nothing changed, when Flower's modules do not hold the constant where this expects it."""
    from flwr.supercore import heartbeat
    from flwr.supernode import fleet_http_connection

    modules = (heartbeat, fleet_http_connection)
    if not all(type(getattr(m, "HEARTBEAT_DEFAULT_INTERVAL", None)) is int for m in modules):
        return False
    for module in modules:
        module.HEARTBEAT_DEFAULT_INTERVAL = seconds  # type: ignore[attr-defined]
    return True


@dataclass(frozen=True)
class LauncherArgs:
    fork_clientapps: bool = True
    idle_poll_s: float = DEFAULT_IDLE_POLL_S
    heartbeat_s: float | None = None  # None: Flower's own
    flower_args: tuple[str, ...] = ()


def _seconds(rest: list[str], low: float, high: float) -> float:
    flag = rest[0]
    if len(rest) < 2:
        raise SystemExit(f"{flag} needs a number of seconds")
    try:
        seconds = float(rest[1])
    except ValueError:
        raise SystemExit(f"{flag}: not a number of seconds: {rest[1]!r}") from None
    if not low <= seconds <= high:
        raise SystemExit(f"{flag}: {seconds:g} s is outside {low:g} to {high:g} s")
    return seconds


def parse_launcher_args(argv: list[str]) -> LauncherArgs:
    """This module's options, then Flower's: ``[--exec-clientapps] [--idle-poll SECONDS]
    [--heartbeat SECONDS] [--] ARGS``, the options in any order.

    Raises:
        SystemExit: a SECONDS is missing, not a number, outside 0.01 to 60 (idle poll) or
            outside 10 to 1800 (heartbeat).
    """
    found: dict[str, float] = {}
    fork, rest = True, list(argv)
    while rest and rest[0] in (EXEC_FLAG, FLAG, HEARTBEAT_FLAG):
        if rest[0] == EXEC_FLAG:
            fork, rest = False, rest[1:]
            continue
        found[rest[0]] = _seconds(rest, *((0.01, 60.0) if rest[0] == FLAG else HEARTBEAT_RANGE_S))
        rest = rest[2:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    return LauncherArgs(
        fork, found.get(FLAG, DEFAULT_IDLE_POLL_S), found.get(HEARTBEAT_FLAG), tuple(rest)
    )


def launcher(
    idle_poll_s: float, *, fork_clientapps: bool = True, heartbeat_s: float | None = None
) -> list[str]:
    """The command that starts Flower's SuperNode through this module, in this Python."""
    first = [] if fork_clientapps else [EXEC_FLAG]
    beat = [] if heartbeat_s is None else [HEARTBEAT_FLAG, f"{heartbeat_s:g}"]
    return [
        sys.executable, "-m", "client_node.supernode_main", *first, *beat,
        FLAG, f"{idle_poll_s:g}", "--",
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parsed = parse_launcher_args(sys.argv[1:] if argv is None else argv)
    fork, seconds, flower_args = parsed.fork_clientapps, parsed.idle_poll_s, parsed.flower_args
    from flwr.supernode import start_client_internal
    from flwr.supernode.cli import flower_supernode

    from federation.flower_pulls import prompt_pulls

    prompt_pulls()  # the SuperNode's pulls of a message's arrays from the SuperLink

    if not cap_idle_poll(start_client_internal, seconds):
        warnings.warn(
            "this Flower's SuperNode loop is not the one --idle-poll shortens; "
            "it runs with Flower's own waits",
            stacklevel=1,
        )
    if fork and not replace_subprocess(start_client_internal, SuperExecThroughFork()):
        warnings.warn(
            "this Flower's SuperNode does not start its SuperExec the way "
            "client_node.clientapp_fork expects; ClientApps start as Flower starts them",
            stacklevel=1,
        )
    if parsed.heartbeat_s is not None and not set_heartbeat(parsed.heartbeat_s):
        warnings.warn(
            "this Flower's SuperNode does not keep its heartbeat interval where --heartbeat "
            "sets it; it runs with Flower's own 30 s",
            stacklevel=1,
        )
    sys.argv = ["flower-supernode", *flower_args]
    flower_supernode()
    return 0


if __name__ == "__main__":
    sys.exit(main())
