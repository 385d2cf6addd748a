"""A Grid that collects replies as soon as they are in.

Flower 1.42's deployment Grid (``HttpGrid``) pushes a phase's messages, then asks the SuperLink
for the replies and, while any is missing, sleeps a fixed 3 s before asking again. A phase whose
last reply lands just after a look therefore ends up to 3 s late, and a run has about a dozen
phases (docs/deployment-speed.md). ``PromptGrid`` wraps the Grid that Flower hands the
ServerApp and does the same exchange with Flower's own ``push_messages`` and ``pull_messages``,
looking every ``poll_s`` seconds (0.2 by default). Every other call goes to the wrapped Grid
unchanged, so the engine stays Flower's. ``prompt`` wraps only that Grid: the simulation's
``InMemoryGrid`` already looks every 0.1 s.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from flwr.app import Message, RecordDict
from flwr.proto.node_pb2 import NodeInfo
from flwr.serverapp import Grid
from flwr.supercore.run import Run

DEFAULT_POLL_S = 0.2


def prompt(grid: Grid) -> Grid:
    """``grid`` in a ``PromptGrid`` when it is Flower's deployment Grid, else ``grid``. On the
    deployment engine the replies' arrays are also pulled with a sooner first retry
    (``federation.flower_pulls``)."""
    from flwr.superlink.grid.http_grid import HttpGrid

    from federation.flower_pulls import prompt_pulls

    if not isinstance(grid, HttpGrid):
        return grid
    prompt_pulls()
    return PromptGrid(grid)


class PromptGrid(Grid):
    """``grid`` with a ``send_and_receive`` that looks for replies every ``poll_s`` seconds."""

    def __init__(self, grid: Grid, *, poll_s: float = DEFAULT_POLL_S) -> None:
        if not poll_s > 0:
            raise ValueError(f"poll_s must be positive, got {poll_s!r}")
        self.inner = grid
        self.poll_s = poll_s

    def set_run(self, run: Run) -> None:
        self.inner.set_run(run)

    @property
    def run(self) -> Run:
        return self.inner.run

    def create_message(
        self,
        content: RecordDict,
        message_type: str,
        dst_node_id: int,
        group_id: str,
        ttl: float | None = None,
    ) -> Message:
        return self.inner.create_message(content, message_type, dst_node_id, group_id, ttl)

    def get_node_ids(self) -> Iterable[int]:
        return self.inner.get_node_ids()

    def get_nodes(self) -> Iterable[NodeInfo]:
        return self.inner.get_nodes()

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        return self.inner.push_messages(messages)

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return self.inner.pull_messages(message_ids)

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        """Push ``messages``, then collect the replies until all are in or ``timeout`` seconds
        have passed (no limit when None), as Flower's Grid does, looking every ``poll_s``."""
        waiting = set(self.push_messages(messages))
        end = None if timeout is None else time.monotonic() + timeout
        replies: list[Message] = []
        while waiting:
            got = list(self.pull_messages(waiting))
            replies.extend(got)
            waiting.difference_update(m.metadata.reply_to_message_id for m in got)
            if not waiting or (end is not None and time.monotonic() >= end):
                break
            left = self.poll_s if end is None else end - time.monotonic()
            time.sleep(max(0.0, min(self.poll_s, left)))
        return replies
