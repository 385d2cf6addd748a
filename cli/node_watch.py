"""What ``fedinsight node start`` shows while the SuperNode runs: each change of state that its
log reports (``cli.supernode_log``), with the reason for a retry (whether the coordinator's
port answers at all), and, when the SuperNode ends without being asked to, a one-line reason.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from rich.markup import escape

from cli.ports import answers, split_address
from cli.supernode_log import NodeEvent, NodeState, classify, plain

_PYTHON_ERROR = re.compile(r"^\w+(Error|Exception): .+")

# A refusal moments after the coordinator first answered may be its start-up: `coordinator
# start` registers the allow-list's keys with the SuperLink once it listens. Start again, after
# these pauses (s), when the coordinator did not answer within STARTUP_GRACE s before.
RESTART_PAUSES = (5.0, 10.0, 20.0)
STARTUP_GRACE = 60.0

_FAILURES = {NodeState.REFUSED, NodeState.PORT_IN_USE, NodeState.TLS_FAILED, NodeState.FAILED}

_SAYS = {
    NodeState.REFUSED: "this node's key is not on the coordinator's allow-list",
    NodeState.PORT_IN_USE: "the SuperNode's runtime API cannot listen on {detail}",
    NodeState.TLS_FAILED: "the TLS handshake with {superlink} failed",
    NodeState.RUN_REFUSED: "{detail}",
    NodeState.RUN_ERROR: "{detail}",
}


class NodeWatch:
    """Fed each line of the SuperNode's log (``line``); ``stopped`` when the user stops it;
    ``ending`` says how ``node start`` ends. ``show`` prints one line to the terminal."""

    def __init__(self, superlink: str, log_path: Path, show: Callable[[str], None]) -> None:
        self.superlink = superlink
        self.log_path = log_path
        self.show = show
        self.shown: tuple[NodeState, str] | None = None
        self.seen: dict[NodeState, str] = {}
        self.flower_exit: list[str] = []  # flwr_exit's message, line by line
        self.collecting = False
        self.last_error = ""
        self.stop_asked = False
        self.unreachable_at: float | None = None  # when the coordinator last did not answer
        self.restarts = 0
        self.node_id = ""

    @property
    def state(self) -> NodeState | None:
        return None if self.shown is None else self.shown[0]

    def line(self, text: str) -> None:
        event = classify(text)
        if event is None:
            self._note(plain(text))
            return
        self.seen.setdefault(event.state, event.detail)
        if event.state is NodeState.FAILED:
            self.flower_exit, self.collecting = [event.detail], True
            return
        message = self._message(event)
        if message is not None:
            self._show(event.state, message)

    def stopped(self) -> None:
        self.stop_asked = True

    def pause_before_restart(self) -> float | None:
        """Seconds to wait before starting the SuperNode again, or None not to: only after
        a refusal by a coordinator that did not answer shortly before (see RESTART_PAUSES)."""
        if self.stop_asked or NodeState.REFUSED not in self.seen:
            return None
        if self.restarts >= len(RESTART_PAUSES) or self.unreachable_at is None:
            return None
        if time.monotonic() - self.unreachable_at > STARTUP_GRACE:
            return None
        pause = RESTART_PAUSES[self.restarts]
        self.restarts += 1
        self.seen.clear()
        self.flower_exit, self.collecting, self.last_error = [], False, ""
        self._show(
            NodeState.RETRYING,
            f"retrying: the coordinator at {self.superlink} refused this node while it was "
            f"starting up (it allows partners' keys once it runs); again in {pause:g} s "
            f"({self.restarts}/{len(RESTART_PAUSES)})",
        )
        return pause

    def ending(self, code: int) -> tuple[int, str]:
        """The exit code of ``node start`` and, when it is not 0, why the SuperNode ended:
        0 when it was stopped, or ended by itself with exit code 0 and no failure in its log
        (shown as stopped); else 1."""
        if self.stop_asked:
            if self.state is not NodeState.STOPPED:
                self._show(NodeState.STOPPED, "stopped")
            return 0, ""
        if code == 0 and not self.seen.keys() & _FAILURES:
            self._show(
                NodeState.STOPPED, f"stopped: the SuperNode ended by itself; log: {self.log_path}"
            )
            return 0, ""
        return 1, f"{self._reason(code)}; log: {self.log_path}"

    # -- internals -----------------------------------------------------------------------

    def _note(self, text: str) -> None:
        """Keep what explains a failure: flwr_exit's message (up to its first blank line), a
        Python error's line."""
        if self.collecting:
            self.collecting = bool(text) and len(self.flower_exit) < 4
            if self.collecting:
                self.flower_exit.append(text)
        if _PYTHON_ERROR.match(text):
            self.last_error = text

    def _message(self, event: NodeEvent) -> str | None:
        """The terminal line for ``event``, starting with its state; None when it changes
        nothing to show."""
        state, detail = event.state, event.detail
        if state is NodeState.CONNECTING:
            return f"connecting to the coordinator at {self.superlink}"
        if state is NodeState.RETRYING:
            reason = self._retry_reason()
            return None if reason is None else f"retrying: {reason}"
        if state is NodeState.CONNECTED:
            if detail.startswith("SuperNode ID"):
                self.node_id = detail
            elif not self.node_id:
                return None  # a first connection: the line with the SuperNode ID follows
            if self.state is NodeState.CONNECTED:
                return None
            return f"connected to the coordinator at {self.superlink} ({self.node_id})"
        if state is NodeState.STOPPED:
            return state.value
        if state in (NodeState.RUN_REFUSED, NodeState.RUN_ERROR):
            self.shown = None  # each is shown, also the same one twice
        return f"{state.value}: {_SAYS[state].format(detail=detail, superlink=self.superlink)}"

    def _retry_reason(self) -> str | None:
        """Why the SuperNode retries, from whether the coordinator's port answers. A retry
        while connected to a coordinator that answers is Flower's own process reaching the
        SuperNode (its runtime API), not the coordinator: nothing to show."""
        try:
            host, port = split_address(self.superlink)
        except ValueError:
            return f"the coordinator address {self.superlink!r} is not HOST:PORT"
        if self.seen.keys() & _FAILURES:
            return None  # Flower's own processes, after the SuperNode gave up
        if not answers(host, port):
            self.unreachable_at = time.monotonic()
            if self.node_id:
                return f"the coordinator at {self.superlink} is no longer reachable"
            return f"the coordinator at {self.superlink} is not reachable (not started yet?)"
        if self.state is NodeState.CONNECTED:
            return None
        return f"the coordinator at {self.superlink} answers but has not accepted this node yet"

    def _show(self, state: NodeState, message: str) -> None:
        if self.shown == (state, message):
            return
        self.shown = (state, message)
        stamp = datetime.now().strftime("%H:%M:%S")
        self.show(f"[dim]{stamp}[/dim] [bold]{escape(message)}[/bold]")

    def _reason(self, code: int) -> str:
        if NodeState.REFUSED in self.seen:
            return (
                "the coordinator refused this node: its public key (auth/node.pub) is not on "
                "the coordinator's allow-list; the coordinator adds it with "
                "`fedinsight coordinator allow`"
            )
        if NodeState.PORT_IN_USE in self.seen:
            return (
                f"port {self.seen[NodeState.PORT_IN_USE]} is in use: the SuperNode's runtime "
                "API cannot listen there (another SuperNode? change runtime-port in node.toml)"
            )
        if NodeState.TLS_FAILED in self.seen:
            return (
                f"the TLS handshake with the coordinator at {self.superlink} failed: is "
                "root-certificates in node.toml the coordinator's ca.pem?"
            )
        if self.flower_exit:
            return f"the SuperNode stopped: {' '.join(self.flower_exit)}"
        if code > 128:
            name = _signal_name(code - 128)
            return f"the SuperNode was killed by {name} (exit {code})"
        if self.last_error:
            return f"the SuperNode failed: {self.last_error}"
        return f"the SuperNode exited with code {code}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
