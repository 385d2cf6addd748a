"""What a line of Flower's SuperNode log says about the node's state.

``fedinsight node start`` writes the SuperNode's output to ``logs/supernode.log`` and reads it
back line by line; ``classify`` maps the lines it knows to a ``NodeEvent``. The lines are
Flower 1.42's (``flwr/supernode/start_client_internal.py``, ``flwr/supernode/
fleet_http_connection.py``, ``flwr/supercore/retry/http_retry.py``, uvicorn's bind error) and
the ClientApp's own refusal line (``client_node.client_app``). A line it does not know is
``None``: the log keeps everything, the terminal shows only state changes.

Notes:
    Flower's wording is not an API: a new Flower version may change it. The tests in
    ``tests/deployment/test_supernode_log.py`` pin the lines captured from Flower 1.42.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class NodeState(StrEnum):
    CONNECTING = "connecting"
    RETRYING = "retrying"
    CONNECTED = "connected"
    REFUSED = "refused by the coordinator"
    PORT_IN_USE = "port in use"
    TLS_FAILED = "TLS failed"
    FAILED = "failed"
    RUN_REFUSED = "refused a run"
    RUN_ERROR = "could not work for a run"
    STOPPED = "stopped"


@dataclass(frozen=True)
class NodeEvent:
    state: NodeState
    detail: str = ""


_ANSI = re.compile(r"\x1b\[[0-9;]*m")

# (pattern, state, detail template over the match's groups); the first match wins.
_PATTERNS: tuple[tuple[re.Pattern[str], NodeState, str], ...] = (
    (re.compile(r"Starting Flower SuperNode\b"), NodeState.CONNECTING, ""),
    (
        re.compile(r"Connection attempt failed, retrying in ([0-9.]+) seconds"),
        NodeState.RETRYING,
        "next try in {0} s",
    ),
    (
        re.compile(r"Connection successful after ([0-9.]+) seconds and (\d+) tries"),
        NodeState.CONNECTED,
        "after {1} tries in {0} s",
    ),
    (re.compile(r"SuperNode ID: (\d+)"), NodeState.CONNECTED, "SuperNode ID {0}"),
    (re.compile(r"Failed to activate SuperNode"), NodeState.REFUSED, ""),
    (
        re.compile(r"error while attempting to bind on address \('([^']*)', (\d+)\).*in use"),
        NodeState.PORT_IN_USE,
        "{0}:{1}",
    ),
    (re.compile(r"SSL/TLS handshake error detected"), NodeState.TLS_FAILED, ""),
    (
        re.compile(r"refused the ([\w.]+) message of run (\d+): (.+)$"),
        NodeState.RUN_REFUSED,
        "run {1} ({0}): {2}",
    ),
    (
        re.compile(r"client_node\.client_app: cannot (\w+): (.+)$"),
        NodeState.RUN_ERROR,
        "cannot {0}: {1}",
    ),
    (re.compile(r"SuperNode terminated gracefully"), NodeState.STOPPED, ""),
    # flwr_exit's first line of an error exit ("Exit Code: 305"); its message follows.
    (re.compile(r"Exit Code: (\d+)"), NodeState.FAILED, "Flower exit code {0}"),
)


def plain(line: str) -> str:
    """``line`` without colour codes and surrounding blanks."""
    return _ANSI.sub("", line).strip()


def classify(line: str) -> NodeEvent | None:
    """The state a SuperNode log line reports, or None for a line that reports none."""
    text = plain(line)
    for pattern, state, template in _PATTERNS:
        match = pattern.search(text)
        if match is not None:
            return NodeEvent(state, template.format(*match.groups()))
    return None
