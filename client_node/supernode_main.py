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
"""

from __future__ import annotations

import subprocess
import sys
import time
import warnings
from types import ModuleType

from client_node.clientapp_fork import SubprocessStandIn, replace_subprocess

DEFAULT_IDLE_POLL_S = 0.5
FLAG = "--idle-poll"
EXEC_FLAG = "--exec-clientapps"
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


def parse_idle_poll(argv: list[str]) -> tuple[float, list[str]]:
    """``(seconds, flower_args)`` from ``[--idle-poll SECONDS] [--] ARGS``.

    Raises:
        SystemExit: SECONDS is not a number between 0.01 and 60.
    """
    seconds, rest = DEFAULT_IDLE_POLL_S, list(argv)
    if rest[:1] == [FLAG]:
        if len(rest) < 2:
            raise SystemExit(f"{FLAG} needs a number of seconds")
        try:
            seconds = float(rest[1])
        except ValueError:
            raise SystemExit(f"{FLAG}: not a number of seconds: {rest[1]!r}") from None
        rest = rest[2:]
        if not 0.01 <= seconds <= 60:
            raise SystemExit(f"{FLAG}: {seconds:g} s is outside 0.01 to 60 s")
    if rest[:1] == ["--"]:
        rest = rest[1:]
    return seconds, rest


def launcher(idle_poll_s: float, *, fork_clientapps: bool = True) -> list[str]:
    """The command that starts Flower's SuperNode through this module, in this Python."""
    first = [] if fork_clientapps else [EXEC_FLAG]
    return [
        sys.executable, "-m", "client_node.supernode_main", *first, FLAG, f"{idle_poll_s:g}", "--"
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    fork = args[:1] != [EXEC_FLAG]
    seconds, flower_args = parse_idle_poll(args if fork else args[1:])
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
    sys.argv = ["flower-supernode", *flower_args]
    flower_supernode()
    return 0


if __name__ == "__main__":
    sys.exit(main())
