"""coordinator/prompt_grid.py: replies collected as soon as they are in."""

from __future__ import annotations

import time
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

import pytest
from flwr.app import Message
from flwr.serverapp import Grid
from flwr.supercore.run import Run

from coordinator.prompt_grid import PromptGrid, prompt


class _SlowNodes(Grid):
    """A grid whose replies appear ``delay_s`` after the push; ``pulls`` counts the looks."""

    def __init__(self, delay_s: float, never: set[str] | None = None) -> None:
        self.delay_s = delay_s
        self.never = never or set()
        self.pushed_at = 0.0
        self.ids: list[str] = []
        self.pulls = 0

    def set_run(self, run: Run) -> None:
        raise NotImplementedError

    @property
    def run(self) -> Run:
        raise NotImplementedError

    def create_message(self, *args: Any, **kwargs: Any) -> Message:
        raise NotImplementedError

    def get_node_ids(self) -> Iterable[int]:
        return [7, 8]

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        self.pushed_at = time.monotonic()
        self.ids = [f"m{i}" for i, _ in enumerate(messages)]
        return list(self.ids)

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        self.pulls += 1
        if time.monotonic() - self.pushed_at < self.delay_s:
            return []
        return [_reply(i) for i in message_ids if i not in self.never]

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        raise AssertionError("PromptGrid must not use the wrapped grid's 3 s loop")


def _reply(to: str) -> Any:
    # Flower's Message needs a run; the grid only reads the reply's metadata.
    return SimpleNamespace(metadata=SimpleNamespace(reply_to_message_id=to))


def _sent(n: int) -> list[Any]:
    return [SimpleNamespace(dst_node_id=7) for _ in range(n)]


def test_replies_come_back_soon_after_they_are_in() -> None:
    inner = _SlowNodes(delay_s=0.5)
    t0 = time.monotonic()

    replies = list(PromptGrid(inner, poll_s=0.05).send_and_receive(_sent(2), timeout=30))

    assert sorted(r.metadata.reply_to_message_id for r in replies) == ["m0", "m1"]
    assert time.monotonic() - t0 < 2.0  # Flower's own loop would have slept 3 s
    assert inner.pulls >= 3


def test_a_missing_reply_ends_the_wait_at_the_timeout_with_what_came() -> None:
    inner = _SlowNodes(delay_s=0.0, never={"m1"})
    t0 = time.monotonic()

    replies = list(PromptGrid(inner, poll_s=0.05).send_and_receive(_sent(2), timeout=0.4))

    assert [r.metadata.reply_to_message_id for r in replies] == ["m0"]
    assert 0.35 <= time.monotonic() - t0 < 2.0


def test_other_calls_go_to_the_wrapped_grid_and_the_poll_must_be_positive() -> None:
    assert list(PromptGrid(_SlowNodes(0)).get_node_ids()) == [7, 8]
    with pytest.raises(ValueError, match="poll_s must be positive"):
        PromptGrid(_SlowNodes(0), poll_s=0)


def test_only_flowers_deployment_grid_is_wrapped() -> None:
    from flwr.superlink.grid.http_grid import HttpGrid

    deployed = HttpGrid("127.0.0.1:9", insecure=True, token="t")  # connects on first use only
    fake = _SlowNodes(0)

    wrapped = prompt(deployed)
    assert isinstance(wrapped, PromptGrid)
    assert wrapped.inner is deployed
    assert prompt(fake) is fake
