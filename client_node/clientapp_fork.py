"""Flower's SuperExec, with ClientApp processes forked from one that has Flower imported.

Flower's SuperNode starts ``flower-superexec``, which starts one ``flwr-clientapp`` process per
message (``flwr.supercore.superexec.executor.subprocess_executor``). Each of those spends about
1.2 s of CPU importing Flower's SuperNode command-line package before it reads its message
(docs/deployment-speed.md).

``python -m client_node.clientapp_fork ARGS`` runs Flower's own ``flower-superexec`` entry point
with ARGS, except that inside that one executor module ``subprocess.Popen`` of the
``flwr-clientapp`` command line hands that same command line to a zygote
(``client_node/clientapp_zygote.py``): a process started beside the SuperExec that has imported
Flower's ClientApp entry point once, and forks a child per command line to run it. Flower builds
the command line, the token and the isolation; the child is a new process per message running
Flower's code; only the imports are done before the fork.

When the zygote cannot be started or has died, the ClientApp process is started the way Flower
does it, with a warning. When the installed Flower no longer starts ClientApps through that
module's ``subprocess``, the SuperExec runs unchanged, with a warning.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

CLIENTAPP_COMMAND = "flwr-clientapp"
ZYGOTE_SCRIPT = Path(__file__).with_name("clientapp_zygote.py")


class Zygote:
    """The zygote process, started on demand and again if it died; ``launch`` hands it one
    ClientApp command line."""

    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command or [sys.executable, str(ZYGOTE_SCRIPT)]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> bool:
        """Start the zygote if it is not running; False when it cannot be started."""
        if self.proc is not None and self.proc.poll() is None:
            return True
        try:
            self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE)
        except OSError as exc:
            warnings.warn(f"the ClientApp zygote did not start: {exc}", stacklevel=1)
            self.proc = None
            return False
        return True

    def launch(self, argv: list[str], *, quiet: bool) -> bool:
        """Ask the zygote to fork a ClientApp running ``argv``; False when it cannot be asked."""
        if not self.start() or self.proc is None or self.proc.stdin is None:
            return False
        line = json.dumps({"argv": argv, "quiet": quiet}).encode() + b"\n"
        try:
            self.proc.stdin.write(line)
            self.proc.stdin.flush()
        except OSError:  # BrokenPipeError: it died since the last look
            self.proc = None
            return False
        return True


class SubprocessStandIn:
    """Stands in for ``subprocess`` inside one Flower module: every attribute is
    ``subprocess``'s; subclasses change ``Popen`` for one command."""

    def __getattr__(self, name: str) -> object:
        return getattr(subprocess, name)


class ForkingSubprocess(SubprocessStandIn):
    """``Popen`` of a ``flwr-clientapp`` command line goes to the zygote (``None`` is returned;
    Flower does not keep the object)."""

    def __init__(self, zygote: Zygote) -> None:
        self.zygote = zygote

    def Popen(self, args: Any, **kwargs: Any) -> object:  # subprocess's name
        clientapp = isinstance(args, list) and args[:1] == [CLIENTAPP_COMMAND]
        if clientapp and set(kwargs) <= {"stdout", "stderr"}:
            quiet = kwargs.get("stdout") is subprocess.DEVNULL
            if self.zygote.launch([str(a) for a in args], quiet=quiet):
                return None
            warnings.warn(
                "the ClientApp zygote is not available: this ClientApp process starts as "
                "Flower starts it",
                stacklevel=1,
            )
        return subprocess.Popen(args, **kwargs)


def replace_subprocess(module: ModuleType, stand_in: SubprocessStandIn) -> bool:
    """Give ``module`` (one of Flower's) ``stand_in`` as its ``subprocess``; False, and nothing
    changed, when the module does not use ``subprocess`` as expected."""
    if getattr(module, "subprocess", None) is not subprocess:
        return False
    module.subprocess = stand_in  # type: ignore[attr-defined]
    return True


def main(argv: list[str] | None = None) -> int:
    from flwr.supercore.cli import flower_superexec
    from flwr.supercore.superexec.executor import subprocess_executor

    zygote = Zygote()
    if replace_subprocess(subprocess_executor, ForkingSubprocess(zygote)):
        zygote.start()  # its imports run now, not when the first message comes
    else:
        warnings.warn(
            "this Flower's SuperExec does not start ClientApps the way this module expects; "
            "it runs unchanged",
            stacklevel=1,
        )
    sys.argv = ["flower-superexec", *(sys.argv[1:] if argv is None else argv)]
    flower_superexec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
