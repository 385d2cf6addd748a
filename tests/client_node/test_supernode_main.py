"""client_node/supernode_main.py: Flower's SuperNode with a shorter idle poll."""

from __future__ import annotations

import inspect
import subprocess
import sys
import time
from types import ModuleType

import pytest

from client_node.supernode_main import (
    DEFAULT_IDLE_POLL_S,
    CappedSleep,
    cap_idle_poll,
    launcher,
    parse_idle_poll,
)


def test_the_pinned_flower_supernode_loop_has_the_fixed_wait_this_shortens() -> None:
    # If Flower changes its loop, this fails first and the module's docs need a new look.
    from flwr.supernode import start_client_internal

    source = inspect.getsource(start_client_internal)
    assert "time.sleep(3)" in source
    assert getattr(start_client_internal, "time", None) is time


def test_capped_sleep_shortens_long_waits_and_keeps_the_rest_of_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    capped = CappedSleep(0.25)

    capped.sleep(3)
    capped.sleep(0.5)
    capped.sleep(0.1)

    assert slept == [0.25, 0.25, 0.1]
    assert capped.time is time.time
    assert capped.monotonic is time.monotonic


def test_cap_idle_poll_replaces_the_modules_time_only_when_it_is_the_time_module() -> None:
    flower_like = ModuleType("flower_like")
    flower_like.__dict__["time"] = time
    other = ModuleType("other")
    other.__dict__["time"] = object()

    assert cap_idle_poll(flower_like, 0.5)
    assert isinstance(flower_like.time, CappedSleep)
    assert flower_like.time.cap_s == 0.5
    assert not cap_idle_poll(other, 0.5)
    assert not isinstance(other.time, CappedSleep)


def test_parse_idle_poll_reads_the_seconds_and_leaves_flowers_arguments() -> None:
    args = ["--superlink", "127.0.0.1:9091", "--insecure"]

    assert parse_idle_poll(["--idle-poll", "0.5", "--", *args]) == (0.5, args)
    assert parse_idle_poll(args) == (DEFAULT_IDLE_POLL_S, args)
    with pytest.raises(SystemExit, match="not a number of seconds: 'soon'"):
        parse_idle_poll(["--idle-poll", "soon"])
    with pytest.raises(SystemExit, match=r"outside 0\.01 to 60 s"):
        parse_idle_poll(["--idle-poll", "0"])
    with pytest.raises(SystemExit, match="needs a number"):
        parse_idle_poll(["--idle-poll"])


def test_the_launcher_starts_flowers_supernode_which_answers_help() -> None:
    cmd = launcher(0.5)

    assert cmd[:3] == [sys.executable, "-m", "client_node.supernode_main"]
    out = subprocess.run([*cmd, "--help"], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "--superlink" in out.stdout  # Flower's own argument parser answered
