"""A process that starts each ClientApp process by forking itself, with Flower already imported.

Flower 1.42 starts a fresh ``flwr-clientapp`` process for every message a node gets. That entry
point imports Flower's whole SuperNode command-line package before it reads the message: about
1.2 s of CPU per message, paid three times at once when three partners share two cores
(docs/deployment-speed.md).

This process imports that entry point once, then reads requests from its standard input, one
JSON line each: ``{"argv": [...], "quiet": bool}``, the command line Flower's SuperExec would
have run. For each it forks a child, which runs Flower's own ``flwr-clientapp`` entry point with
that command line and exits. Every message still gets a process of its own, started when the
SuperExec asks and gone when the message is answered, with Flower's code from its first line;
only the imports are done before the fork. The process ends when its standard input closes (the
SuperExec that started it is gone).

Before it forks, it makes Flower's object pulls retry after 0.05 s, doubling up to 0.5 s,
instead of 1 s doubling up to 10 s (``federation/flower_pulls.py``): a ClientApp that starts
this soon asks the SuperNode for the message's arrays before the SuperNode has them.

It is run as a script, never as ``client_node.clientapp_zygote``: a ClientApp loads
``client_node.client_app`` from the app bundle the run ships, so none of the project's packages
may be imported here first. For the same reason its folder is removed from ``sys.path`` in each
child.

What a child does not share with its siblings: Python's ``random`` is reseeded at every fork
(CPython does it), and so is NumPy's global generator here. Keys and DP noise never come from
either (``secrets`` and torch's OS-seeded generator).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import IO


def _child(entry: Callable[[], object], argv: list[str], quiet: bool, script_dir: str) -> int:
    """Run Flower's ClientApp entry point with ``argv`` in this forked child; its exit code."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # the requests pipe stays the parent's
    if quiet:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
    os.close(devnull)
    if sys.path and os.path.abspath(sys.path[0]) == script_dir:
        sys.path.pop(0)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()
    sys.argv = list(argv)
    try:
        entry()
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except BaseException:  # a child reports and exits, whatever happened
        traceback.print_exc()
        return 1
    return 0


def serve(requests: IO[bytes], entry: Callable[[], object]) -> None:
    """Fork one child per request line until ``requests`` ends; children are reaped by the
    kernel (SIGCHLD ignored here, restored in each child)."""
    script_dir = os.path.dirname(os.path.abspath(__file__))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    # Ctrl+C in the node's terminal reaches the whole process group: the children handle it
    # as Flower's ClientApp does; this process ends with its standard input.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for line in requests:
        try:
            request = json.loads(line)
            argv = [str(a) for a in request["argv"]]
            quiet = bool(request.get("quiet", False))
        except (ValueError, KeyError, TypeError) as exc:
            print(f"clientapp zygote: bad request ignored: {exc}", file=sys.stderr, flush=True)
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork() == 0:
            code = 1
            try:
                code = _child(entry, argv, quiet, script_dir)
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code)


def prompt_pulls() -> bool:
    """``federation.flower_pulls.prompt_pulls`` in this process, its module loaded by path
    under a private name (no project package is imported here)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "federation")
    spec = importlib.util.spec_from_file_location(
        "_fedinsight_flower_pulls", os.path.join(path, "flower_pulls.py")
    )
    if spec is None or spec.loader is None:
        return False
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return bool(module.prompt_pulls())


def main() -> None:
    from flwr.supernode.cli.flwr_clientapp import flwr_clientapp

    if not prompt_pulls():
        print("clientapp zygote: Flower's object pulls keep Flower's retry waits", file=sys.stderr)
    serve(sys.stdin.buffer, flwr_clientapp)


if __name__ == "__main__":
    main()
