"""client_node/clientapp_fork.py and clientapp_zygote.py: ClientApp processes forked from a
process that has Flower imported."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from types import ModuleType

import pytest

from client_node.clientapp_fork import (
    CLIENTAPP_COMMAND,
    ZYGOTE_SCRIPT,
    ForkingSubprocess,
    Zygote,
    replace_subprocess,
)
from client_node.supernode_main import (
    EXEC_FLAG,
    SuperExecThroughFork,
    launcher,
)


def test_the_pinned_flower_starts_superexec_and_clientapps_where_these_modules_look() -> None:
    # If Flower changes how it starts these processes, this fails first.
    from flwr.supercore.constant import TASK_TYPE_TO_COMMAND, TaskType
    from flwr.supercore.superexec.executor import subprocess_executor
    from flwr.supernode import start_client_internal

    assert TASK_TYPE_TO_COMMAND[TaskType.CLIENT_APP] == CLIENTAPP_COMMAND
    assert subprocess_executor.subprocess is subprocess
    assert "subprocess.Popen(args" in inspect.getsource(subprocess_executor)
    assert start_client_internal.subprocess is subprocess
    assert 'command = ["flower-superexec"]' in inspect.getsource(start_client_internal)


class _FakeZygote(Zygote):
    def __init__(self, *, answers: bool) -> None:
        super().__init__(["unused"])
        self.answers = answers
        self.asked: list[tuple[list[str], bool]] = []

    def launch(self, argv: list[str], *, quiet: bool) -> bool:
        self.asked.append((argv, quiet))
        return self.answers


def test_a_clientapp_command_line_goes_to_the_zygote_and_others_start_as_usual(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr(subprocess, "Popen", lambda args, **kw: started.append(args))
    zygote = _FakeZygote(answers=True)
    proxy = ForkingSubprocess(zygote)
    argv = [CLIENTAPP_COMMAND, "--runtime-api-address", "127.0.0.1:9094", "--token", "t"]

    assert proxy.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) is None
    proxy.Popen(argv)
    proxy.Popen(["flwr-serverapp", "--token", "t"])

    assert zygote.asked == [(argv, True), (argv, False)]
    assert started == [["flwr-serverapp", "--token", "t"]]
    assert proxy.DEVNULL is subprocess.DEVNULL  # the rest is subprocess's


def test_when_the_zygote_cannot_take_it_the_clientapp_starts_as_flower_starts_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr(subprocess, "Popen", lambda args, **kw: started.append(args))
    proxy = ForkingSubprocess(_FakeZygote(answers=False))

    with pytest.warns(UserWarning, match="starts as Flower starts it"):
        proxy.Popen([CLIENTAPP_COMMAND, "--token", "t"])

    assert started == [[CLIENTAPP_COMMAND, "--token", "t"]]


def test_the_patches_apply_only_to_modules_that_use_subprocess() -> None:
    flower_like, other = ModuleType("flower_like"), ModuleType("other")
    flower_like.__dict__["subprocess"] = subprocess
    other.__dict__["subprocess"] = object()

    assert replace_subprocess(flower_like, ForkingSubprocess(_FakeZygote(answers=True)))
    assert isinstance(flower_like.subprocess, ForkingSubprocess)
    assert not replace_subprocess(other, ForkingSubprocess(_FakeZygote(answers=True)))

    flower_like.__dict__["subprocess"] = subprocess
    assert replace_subprocess(flower_like, SuperExecThroughFork())
    assert isinstance(flower_like.subprocess, SuperExecThroughFork)
    assert not replace_subprocess(other, SuperExecThroughFork())


def test_the_superexec_command_runs_through_the_fork_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr(subprocess, "Popen", lambda args, **kw: started.append(args))

    SuperExecThroughFork().Popen(["flower-superexec", "--insecure", "--parent-pid", "7"])
    SuperExecThroughFork().Popen(["something-else"])

    assert started == [
        [sys.executable, "-m", "client_node.clientapp_fork", "--insecure", "--parent-pid", "7"],
        ["something-else"],
    ]


def test_the_launcher_forks_by_default_and_execs_on_request() -> None:
    assert EXEC_FLAG not in launcher(0.5)
    assert launcher(0.5, fork_clientapps=False)[3] == EXEC_FLAG


def _ask(proc: subprocess.Popen[bytes], argv: list[str], *, quiet: bool) -> None:
    assert proc.stdin is not None
    proc.stdin.write(json.dumps({"argv": argv, "quiet": quiet}).encode() + b"\n")
    proc.stdin.flush()


def test_the_zygote_forks_flowers_clientapp_entry_per_request_and_ends_with_its_input() -> None:
    # Flower's own flwr-clientapp entry point answers --help in each forked child; the quiet
    # request's help goes nowhere; a bad request is skipped; closing stdin ends the zygote.
    proc = subprocess.Popen(
        [sys.executable, str(ZYGOTE_SCRIPT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    _ask(proc, [CLIENTAPP_COMMAND, "--help"], quiet=False)
    proc.stdin.write(b"not json\n")
    _ask(proc, [CLIENTAPP_COMMAND, "--help"], quiet=True)
    _ask(proc, [CLIENTAPP_COMMAND, "--no-such-option"], quiet=False)
    out, err = proc.communicate(timeout=120)

    assert proc.returncode == 0
    assert out.decode().count("show this help message") == 1  # Flower's parser, once
    assert "bad request ignored" in err.decode()
    assert "flwr-clientapp: error:" in err.decode()  # the bad command line, in its child


def test_a_zygote_that_died_is_started_again() -> None:
    zygote = Zygote()
    assert zygote.start()
    first = zygote.proc
    assert first is not None
    first.kill()
    first.wait(timeout=30)

    assert zygote.launch([CLIENTAPP_COMMAND, "--help"], quiet=True)
    assert zygote.proc is not None and zygote.proc is not first
    assert zygote.proc.stdin is not None
    zygote.proc.stdin.close()
    assert zygote.proc.wait(timeout=120) == 0
