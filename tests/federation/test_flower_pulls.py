"""federation/flower_pulls.py: Flower's object pulls, retried promptly."""

from __future__ import annotations

import pytest

from federation.flower_pulls import FIRST_RETRY_S, RETRY_CAP_S, TRIES_PER_OBJECT, prompt_pulls


@pytest.fixture
def pull_functions(monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, object], ...]:
    """The keyword defaults of Flower's two pull functions, restored after the test."""
    from flwr.supercore.inflatable import inflatable_utils

    defaults = tuple(
        f.__kwdefaults__
        for f in (
            inflatable_utils.pull_objects,
            inflatable_utils.pull_and_inflate_object_from_tree,
        )
    )
    for d in defaults:
        for key in ("initial_backoff", "backoff_cap", "max_tries_per_object"):
            monkeypatch.setitem(d, key, d[key])
    return defaults


def test_the_pinned_flower_waits_a_second_then_doubles_up_to_ten() -> None:
    # If Flower changes these, this fails first and the module's docs need a new look.
    from flwr.supercore.constant import (
        PULL_BACKOFF_CAP,
        PULL_INITIAL_BACKOFF,
        PULL_MAX_TRIES_PER_OBJECT,
    )

    assert (PULL_INITIAL_BACKOFF, PULL_BACKOFF_CAP, PULL_MAX_TRIES_PER_OBJECT) == (1, 10, 500)
    # About as long a wait before a pull gives up: 10,000 tries of at most 0.5 s
    assert abs(TRIES_PER_OBJECT * RETRY_CAP_S - PULL_MAX_TRIES_PER_OBJECT * PULL_BACKOFF_CAP) < 1


def test_prompt_pulls_changes_only_the_first_wait(
    pull_functions: tuple[dict[str, object], ...],
) -> None:
    before = [dict(d) for d in pull_functions]

    assert prompt_pulls()

    changed = {"initial_backoff", "backoff_cap", "max_tries_per_object"}
    for old, new in zip(before, pull_functions, strict=True):
        assert (new["initial_backoff"], new["backoff_cap"]) == (FIRST_RETRY_S, RETRY_CAP_S)
        assert new["max_tries_per_object"] == TRIES_PER_OBJECT
        assert {k: v for k, v in new.items() if k not in changed} == {
            k: v for k, v in old.items() if k not in changed
        }  # the time limit and the rest stay Flower's


def test_a_pull_retries_after_the_shorter_wait(
    pull_functions: tuple[dict[str, object], ...],
) -> None:
    import time

    from flwr.supercore.inflatable.inflatable_utils import ObjectUnavailableError, pull_objects

    prompt_pulls()
    asked: list[float] = []

    def pull(object_id: str) -> bytes:
        asked.append(time.monotonic())
        if len(asked) < 3:
            raise ObjectUnavailableError(object_id)
        return b"content"

    assert pull_objects(["a"], pull) == {"a": b"content"}
    assert asked[-1] - asked[0] < 0.6  # Flower's own waits: 1 s, then 2 s
