"""``fedinsight coordinator run`` end to end, on one federation shared by the module's tests
(a real SuperLink with TLS and SuperNode authentication, three real SuperNodes, on loopback):

1. the same run name submitted twice at the same moment: one submission is refused with a
   clear message, the other runs, and each partner's ledger is charged once;
2. the command run in a terminal (tmux), whose screen, captured with ``capture-pane`` while a
   round runs and at the end, shows each round: who trained, ε per partner, the round's time;
3. a partner's node killed while it trains round 1, then the coordinator killed (-9) in round 2,
   restarted and the run resumed: the log verifies across the restart, the ledgers agree with it;
4. the last run, with two failures: p0's worker killed before it starts, so p0's ClientApp
   does the work itself and every round completes; and p2's node killed between rounds, a
   dropout, with why, in every later round's progress event and audit record (last: the
   federation loses the node).

``FEDINSIGHT_TRANSCRIPT=PATH`` makes test 2 also write its captures to PATH
(``scripts/coordinator_run_transcript.sh`` does that for docs/transcripts/).
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulations.deployment import LocalFederation

pytestmark = pytest.mark.slow

PARTNERS = ("p0", "p1", "p2")
CONFIG = "num-server-rounds={rounds} local-epochs=1 min-partners=2 evaluate-every=9"
HEARTBEAT_S = 10.0


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    """Three partners of 150 CDNOW customers each, approving 1-, 2- and 3-round runs."""
    from insight.datasets import load_cdnow

    root = tmp_path_factory.mktemp("progress-e2e")
    events = load_cdnow().events
    ids = sorted(events["customer_id"].unique())
    # A 10 s heartbeat: the killed node below is counted gone after 20 s, not Flower's 60 s.
    with LocalFederation(root / "fed", heartbeat_s=HEARTBEAT_S) as federation:
        federation.init()
        for i, name in enumerate(PARTNERS):
            data = root / f"{name}.parquet"
            events[events["customer_id"].isin(set(ids[i * 150 : (i + 1) * 150]))].to_parquet(data)
            federation.add_node(name, data)
        manifests = [federation.manifest(CONFIG.format(rounds=r), f"rounds-{r}") for r in (1, 2, 3)]
        for name in PARTNERS:
            federation.approve(name, *manifests)
        federation.start_coordinator()
        for name in PARTNERS:
            federation.start_node(name)
        federation.wait_online(len(PARTNERS))
        yield federation


def _command(fed: LocalFederation, name: str, rounds: int) -> list[str]:
    return [
        fed.fedinsight, "coordinator", "run", str(fed.coordinator), "--name", name,
        "--run-config", CONFIG.format(rounds=rounds),
    ]  # fmt: skip


def _env(fed: LocalFederation) -> dict[str, str]:
    from federation import flower_env

    return {**flower_env(fed.coordinator / "flwr-home"), "COLUMNS": "200"}


def _ledger_sizes(fed: LocalFederation) -> dict[str, int]:
    """Training rows per partner's ledger (charged evaluations are rows too, under
    ``<run>:evaluate``: one submission trains and evaluates once a round)."""
    from privacy import PrivacyLedger

    def trained(node: str) -> int:
        entries = PrivacyLedger(fed.nodes[node] / "privacy.sqlite").entries()
        return sum(1 for e in entries if not e.run_id.endswith(":evaluate"))

    return {n: trained(n) for n in PARTNERS}


def _audit_records(fed: LocalFederation, name: str) -> list[dict[str, Any]]:
    from audit import RunAuditLog, read_signer

    log = RunAuditLog.open(fed.run_dir(name), read_signer(fed.coordinator / "audit.key"))
    try:
        return log.records()
    finally:
        log.close()


def test_every_node_announced_the_heartbeat_it_was_started_with(fed: LocalFederation) -> None:
    import sqlite3

    from coordinator.home import CoordinatorHome

    database = CoordinatorHome(fed.coordinator).database
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT heartbeat_interval FROM node WHERE status = 'online'").fetchall()

    assert sorted(r[0] for r in rows) == [HEARTBEAT_S] * len(PARTNERS)


def test_the_same_name_submitted_twice_at_once_runs_once(fed: LocalFederation) -> None:
    charged = _ledger_sizes(fed)

    procs = [
        subprocess.Popen(
            _command(fed, "twice", rounds=1),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_env(fed),
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=900)[0] for p in procs]

    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 1], outputs
    refused = " ".join(outputs[[p.returncode for p in procs].index(1)].split())
    assert "error: a submission of run twice is in progress" in refused
    assert "flwr run" not in refused  # nothing was submitted
    assert _ledger_sizes(fed) == {n: charged[n] + 1 for n in PARTNERS}
    kinds = [r["type"] for r in _audit_records(fed, "twice")]
    assert kinds == ["run_start", "round", "run_end"]
    starts = [e for e in fed.progress("twice") if e["event"] == "start"]
    assert len(starts) == 1


def _tmux(socket: str, *args: str) -> str:
    out = subprocess.run(
        ["tmux", "-L", socket, "-f", "/dev/null", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return out.stdout


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_coordinator_run_in_a_terminal_shows_each_round(fed: LocalFederation) -> None:
    command = _command(fed, "shown", rounds=2)
    script = fed.root / "shown.sh"
    env = _env(fed)
    keep = ("PATH", "PYTHONPATH", "FLWR_HOME", "HOME", "FLWR_DISABLE_UPDATE_CHECK")
    exports = "".join(f"export {k}={shlex.quote(env[k])}\n" for k in keep if k in env)
    shown = shlex.join(["fedinsight", *command[1:]]).replace(str(fed.root), "$FED")
    script.write_text(
        f"{exports}export FED={shlex.quote(str(fed.root))}\n"
        "export FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION=1 TERM=xterm-256color COLUMNS=160\n"
        f"echo '$ {shown}'\n{shlex.join(command)}\necho \"exit code $?\"\nsleep 600\n"
    )
    socket = f"fedinsight-test-{os.getpid()}"
    _tmux(socket, "new-session", "-d", "-s", "run", "-x", "160", "-y", "50", f"bash {script}")
    try:
        during = ""
        deadline = time.monotonic() + 900
        while "exit code" not in (screen := _tmux(socket, "capture-pane", "-p", "-t", "run")):
            assert time.monotonic() < deadline, screen
            if "round 2 running for" in screen:
                during = screen  # the last view of round 2 in progress
            time.sleep(1.0)
        end = _tmux(socket, "capture-pane", "-p", "-S", "-", "-t", "run")
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=30)

    transcript = os.environ.get("FEDINSIGHT_TRANSCRIPT")
    if transcript:
        Path(transcript).write_text(
            f"# {shown}\n# in tmux (160x50), captured with `tmux capture-pane -p`\n\n"
            f"## while round 2 runs\n\n{during.rstrip()}\n\n## at the end\n\n{end.rstrip()}\n",
            encoding="utf-8",
        )
    assert "round 2 running for" in during and "training at p0, p1, p2" in during
    assert "exit code 0" in end
    table = end[end.rindex("┏") : end.rindex("┘")]
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in table.splitlines()]
    rows = [cells for cells in rows if cells and cells[0]]  # a round's first line
    assert [cells[0] for cells in rows] == ["1", "2"]
    for cells in rows:
        assert cells[1].endswith("s") and float(cells[1][:-1]) > 0  # the round's time
        assert cells[2] == "p0, p1, p2" and cells[3] == "-"
        assert all(f"{n} " in cells[4] and "/10 (+" in cells[4] for n in PARTNERS)  # ε each
    assert "run shown finished in" in end


def _trained(fed: LocalFederation, node: str, skip: int) -> list[Any]:
    """The node's ledger rows after the first ``skip``, charged evaluations left out."""
    from privacy import PrivacyLedger

    entries = PrivacyLedger(fed.nodes[node] / "privacy.sqlite").entries()[skip:]
    return [e for e in entries if not e.run_id.endswith(":evaluate")]


def test_a_node_killed_in_training_then_the_coordinator_killed_and_the_run_resumed(
    fed: LocalFederation,
) -> None:
    """p2 dies while it trains round 1; the coordinator dies (-9) in round 2, is restarted and
    the run resumed after round 1. p2 is started again at the end, for the next test."""
    from privacy import PrivacyLedger

    before = {n: len(PrivacyLedger(fed.nodes[n] / "privacy.sqlite").entries()) for n in PARTNERS}
    p2_log = fed.nodes["p2"] / "logs" / "supernode.log"
    offset = len(p2_log.read_bytes())
    config = CONFIG.format(rounds=3)
    fed.submit("resumed", config)

    deadline = time.monotonic() + 180
    while b"train message" not in p2_log.read_bytes()[offset:]:  # Flower logs it on receipt
        assert time.monotonic() < deadline, "p2 never received a train message"
        time.sleep(0.5)
    fed.kill("p2", signal.SIGKILL)
    fed.wait_for("resumed", "round", 1, timeout=300)
    round1 = next(e for e in fed.progress("resumed") if e["event"] == "round")
    assert round1["participants"] == ["p0", "p1"] and round1["failures"] == ["p2"]

    # The coordinator dies as soon as round 2 has started (a round takes seconds: every partner
    # starts a ClientApp process for it), never on a timer.
    deadline = time.monotonic() + 120
    while not any(e["event"] == "round-start" and e["round"] == 2 for e in fed.progress("resumed")):
        assert time.monotonic() < deadline, "round 2 never started"
        time.sleep(0.1)
    assert not any(e["event"] == "round" and e["round"] == 2 for e in fed.progress("resumed"))
    fed.kill("coordinator", signal.SIGKILL)
    fed.kill("run-resumed", signal.SIGTERM)
    run_dir = fed.run_dir("resumed")
    size_before = len(_audit_records(fed, "resumed"))

    t0 = time.monotonic()
    fed.start_coordinator()
    run = fed.submit("resumed", config)
    fed.wait_for("resumed", "resume", 1, timeout=300)
    resume_seconds = time.monotonic() - t0
    assert run.wait(timeout=900) == 0, (fed.root / "logs" / "run-resumed.out").read_text()[-3000:]
    print(f"resume: {resume_seconds:.1f}s from restart to the resumed run's first record")

    events = fed.progress("resumed")
    assert next(e for e in events if e["event"] == "resume")["after_round"] == 1
    rounds = [e for e in events if e["event"] == "round"]
    assert [r["round"] for r in rounds] == [1, 2, 3]
    assert rounds[-1]["participants"] == ["p0", "p1"]
    records = _audit_records(fed, "resumed")
    assert [r["type"] for r in records] == [
        "run_start", "round", "run_resume", "round", "round", "run_end",
    ]  # fmt: skip
    assert len(records) > size_before
    assert records[2]["model_hash"] == records[1]["model_hash_after"]
    assert "p2" in records[1]["dropouts"]
    # The log verifies across the restart, and the final model is the one on disk.
    assert "verified" in fed.verify(run_dir, quorum=2).lower()  # p2 died in round 1
    # Partners kept witnessing: no split view, and their ledgers agree with the log. Round 2's
    # first try is a row when the partner released it before the crash: a try released is a
    # try counted.
    last = records[-2]
    for name in ("p0", "p1"):
        assert not (fed.nodes[name] / "split-view.txt").exists()
        trained = _trained(fed, name, before[name])
        assert [e.round for e in trained] in ([1, 2, 3], [1, 2, 2, 3])
        assert trained[-1].epsilon_after == pytest.approx(
            last["epsilon_cumulative"][name], rel=1e-9
        )
    # p2 spent only for what it trained before it died.
    assert last["epsilon_cumulative"].get("p2", 0.0) <= last["epsilon_cumulative"]["p0"]

    fed.start_node("p2")  # back for the next test (Flower counts it offline by now)
    fed.wait_online(len(PARTNERS))


@pytest.fixture(scope="module")
def killed_run(fed: LocalFederation) -> tuple[list[dict[str, Any]], str]:
    """The module's last run, with two failures: p0's worker killed (SIGKILL) before it starts,
    and p2's node killed once round 1 is done. Returns the run's round events and what p0's
    SuperNode logged during the run."""
    import psutil

    log = fed.nodes["p0"] / "logs" / "supernode.log"
    assert "worker: answered a train message" in log.read_text()  # the runs before used it

    def is_worker(proc: psutil.Process) -> bool:
        try:
            return "client_node.worker" in proc.cmdline()
        except psutil.Error:  # a ClientApp process that just ended
            return False

    workers = [p for p in psutil.Process(fed.procs["p0"].pid).children(True) if is_worker(p)]
    assert len(workers) == 1
    workers[0].kill()  # SIGKILL: its socket file stays behind, with nobody listening
    deadline = time.monotonic() + 30
    while workers[0].is_running() and workers[0].status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the worker did not die"
        time.sleep(0.2)
    offset = len(log.read_bytes())

    run = fed.submit("killed", CONFIG.format(rounds=3))
    fed.wait_for("killed", "round", 1, timeout=900)
    fed.kill("p2", signal.SIGKILL)

    assert run.wait(timeout=1200) == 0, (fed.root / "logs" / "run-killed.out").read_text()[-3000:]
    rounds = [e for e in fed.progress("killed") if e["event"] == "round"]
    return rounds, log.read_bytes()[offset:].decode(errors="replace")


def test_a_dead_worker_leaves_the_work_to_the_clientapp_and_the_rounds_complete(
    killed_run: tuple[list[dict[str, Any]], str],
) -> None:
    rounds, p0_log = killed_run
    assert [r["round"] for r in rounds] == [1, 2, 3]
    assert all("p0" in r["participants"] for r in rounds)
    assert "the node's worker did not answer" in p0_log
    assert "worker: answered" not in p0_log


def test_a_node_killed_between_rounds_is_a_dropout_of_every_later_round(
    fed: LocalFederation, killed_run: tuple[list[dict[str, Any]], str]
) -> None:
    rounds, _ = killed_run
    assert [r["round"] for r in rounds] == [1, 2, 3]
    assert rounds[0]["participants"] == list(PARTNERS) and rounds[0]["dropouts"] == {}
    for later in rounds[1:]:
        assert later["participants"] == ["p0", "p1"]
        assert later["dropouts"]["p2"] in ("node went offline", "not connected"), later
    assert rounds[2]["dropouts"]["p2"] == "not connected"
    records = [r for r in _audit_records(fed, "killed") if r["type"] == "round"]
    assert [r["dropouts"] for r in records] == [[], ["p2"], ["p2"]]
    out = (fed.root / "logs" / "run-killed.out").read_text()
    assert "round 3 done in" in out and "p2 dropped out: not connected" in out
