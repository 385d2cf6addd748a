"""What ``fedinsight coordinator run`` shows of a run's progress events: one plain line per
event when the output is not a terminal, a live table on a terminal; each partner that did not
train named with its reason, ε per partner, the round's time (no processes started)."""

from __future__ import annotations

import io
import re
from typing import Any

from rich.console import Console

from cli.run_view import RunView, event_line
from federation import Progress

START = {"event": Progress.START, "time": 0.0, "rounds": 3, "partners": ["p0", "p1", "p2", "shy"]}
ROUND_START = {
    "event": Progress.ROUND_START,
    "time": 1.0,
    "round": 2,
    "asked": ["p0", "p1"],
    "not_connected": ["p2"],
}
ROUND = {
    "event": Progress.ROUND,
    "time": 60.0,
    "round": 2,
    "participants": ["p0", "p1"],
    "refusals": {"shy": "run not approved by this partner: manifest sha256 0123abcd…"},
    "failures": ["p2"],
    "errors": {},
    "rejected": {},
    "dropouts": {"p2": "not connected"},
    "epsilon": {
        "p0": {"spent": 0.26, "cumulative": 0.52, "budget": 10.0},
        "p1": {"spent": 0.25, "cumulative": 0.5, "budget": 10.0},
    },
    "seconds": 59.04,
}
STOPPED = {
    "event": Progress.STOPPED,
    "time": 9.0,
    "round": 1,
    "reason": "every partner refused: p0 refused (run not approved); p1 refused (budget spent)",
    "refusals": {"p0": "run not approved", "p1": "budget spent"},
    "dropouts": {},
    "seconds": 4.25,
}
FAILED = {
    "event": Progress.FAILED,
    "time": 9.0,
    "reason": "round 3: 1 usable update(s), fewer than min-partners=2 (p2 failed (not connected))",
}


def _plain(events: list[dict[str, Any]]) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=60)
    with RunView(console, "r1") as view:
        view.update(events[:1])
        view.update(events)  # the first event again, then the new ones
    return out.getvalue().splitlines()


def test_a_round_line_names_who_trained_who_did_not_and_why_with_epsilon_and_time() -> None:
    line = event_line(ROUND)

    assert line == (
        "round 2 done in 59.0s: trained p0, p1; p2 dropped out: not connected; "
        "shy refused: run not approved by this partner: manifest sha256 0123abcd…; "
        "ε p0 0.52/10 (+0.26), p1 0.50/10 (+0.25)"
    )


def test_a_round_start_line_names_who_is_asked_and_who_is_not_connected() -> None:
    assert event_line(ROUND_START) == "round 2: training at p0, p1; not connected: p2"


def test_an_all_refused_run_names_each_partners_reason() -> None:
    line = event_line(STOPPED)

    assert line is not None
    assert "p0 refused (run not approved)" in line and "p1 refused (budget spent)" in line
    assert "after 4.2s" in line


def test_off_a_terminal_each_event_is_one_plain_line_shown_once() -> None:
    lines = _plain([START, ROUND_START, ROUND, FAILED])

    assert lines == [
        event_line(START),
        event_line(ROUND_START),
        event_line(ROUND),
        event_line(FAILED),
    ]
    assert not any("\x1b" in line for line in lines)  # no control codes in a log file


def test_a_progress_file_of_older_rounds_still_shows_its_dropouts() -> None:
    old = {k: v for k, v in ROUND.items() if k != "dropouts"} | {
        "failures": ["p2"],
        "rejected": {"evil": "update norm 1e+06 is above the bound 50"},
    }

    line = event_line(old)

    assert line is not None
    assert "p2 dropped out: no reply" in line
    assert "evil dropped out: update rejected: update norm 1e+06 is above the bound 50" in line


def test_on_a_terminal_a_live_table_shows_each_round_and_the_reasons() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200, color_system=None)

    with RunView(console, "r1") as view:
        view.update([START, ROUND_START])
        running = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
        view.update([START, ROUND_START, ROUND])

    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    assert "round 2 running for" in running and "not connected: p2" in running
    last = screen[screen.rindex("run r1") :]  # the final frame
    assert "59.0s" in last and "p0, p1" in last
    assert "p2 dropped out: not connected" in last
    assert "shy refused: run not approved by this partner: manifest sha256 0123abcd…" in last
    assert "p0 0.52/10 (+0.26)" in last
    assert "running for" not in last  # the finished round's spinner is gone
