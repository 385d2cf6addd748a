"""client_node/supernode_main.py: Flower's SuperNode with a shorter idle poll."""

from __future__ import annotations

import inspect
import subprocess
import sys
import time
from types import ModuleType

import pytest

from client_node.supernode_main import (
    CappedSleep,
    LauncherArgs,
    cap_idle_poll,
    launcher,
    parse_launcher_args,
    set_heartbeat,
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


def test_parse_launcher_args_reads_the_seconds_and_leaves_flowers_arguments() -> None:
    args = ["--superlink", "127.0.0.1:9091", "--insecure"]

    assert parse_launcher_args(["--idle-poll", "0.5", "--", *args]) == LauncherArgs(
        idle_poll_s=0.5, flower_args=tuple(args)
    )
    assert parse_launcher_args(args) == LauncherArgs(flower_args=tuple(args))
    assert parse_launcher_args(
        ["--heartbeat", "10", "--exec-clientapps", "--idle-poll", "2", "--", *args]
    ) == LauncherArgs(
        fork_clientapps=False, idle_poll_s=2.0, heartbeat_s=10.0, flower_args=tuple(args)
    )
    with pytest.raises(SystemExit, match="--idle-poll: not a number of seconds: 'soon'"):
        parse_launcher_args(["--idle-poll", "soon"])
    with pytest.raises(SystemExit, match=r"--idle-poll: 0 s is outside 0\.01 to 60 s"):
        parse_launcher_args(["--idle-poll", "0"])
    with pytest.raises(SystemExit, match="--idle-poll needs a number"):
        parse_launcher_args(["--idle-poll"])
    with pytest.raises(SystemExit, match="--heartbeat: 5 s is outside 10 to 1800 s"):
        parse_launcher_args(["--heartbeat", "5", "--", *args])


def test_the_launcher_passes_the_heartbeat_only_when_one_is_chosen() -> None:
    assert "--heartbeat" not in launcher(0.5)
    chosen = launcher(0.5, heartbeat_s=10, fork_clientapps=False)

    assert parse_launcher_args(chosen[3:]) == LauncherArgs(
        fork_clientapps=False, idle_poll_s=0.5, heartbeat_s=10.0
    )


def test_the_pinned_flower_sends_and_announces_the_interval_set_heartbeat_sets() -> None:
    # If Flower moves its heartbeat constant, this fails first and --heartbeat needs a new look.
    from flwr.supercore import heartbeat
    from flwr.supernode import fleet_http_connection

    assert "next_interval: float = HEARTBEAT_DEFAULT_INTERVAL" in inspect.getsource(heartbeat)
    source = inspect.getsource(fleet_http_connection)
    assert source.count("heartbeat_interval=HEARTBEAT_DEFAULT_INTERVAL") == 2


def test_set_heartbeat_changes_flowers_interval_where_the_supernode_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flwr.supercore import heartbeat
    from flwr.supernode import fleet_http_connection

    for module in (heartbeat, fleet_http_connection):  # restored after the test
        monkeypatch.setattr(module, "HEARTBEAT_DEFAULT_INTERVAL", 30)

    assert set_heartbeat(10.0)
    assert heartbeat.HEARTBEAT_DEFAULT_INTERVAL == 10.0
    assert fleet_http_connection.HEARTBEAT_DEFAULT_INTERVAL == 10.0


def test_the_launcher_starts_flowers_supernode_which_answers_help() -> None:
    cmd = launcher(0.5)

    assert cmd[:3] == [sys.executable, "-m", "client_node.supernode_main"]
    out = subprocess.run([*cmd, "--help"], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "--superlink" in out.stdout  # Flower's own argument parser answered
