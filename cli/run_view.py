"""What ``fedinsight coordinator run`` shows while a run goes on: the events of the run's
progress file (``RunDir.progress``, written by ``coordinator.rounds``) as they come.

On a terminal, a live table, one row a round: its time, the partners that trained, those that
refused or dropped out with why, and each partner's ε; under it, the round in progress. Where
the output is not a terminal (a pipe, a log file), one plain line per event instead.

Notes:
    The reasons shown are the partners' own (``Partner.REASON``: they name files, lines,
    columns and budgets, never a data value) and the coordinator's (not connected, no reply,
    the update check that failed).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from federation import Progress

Event = Mapping[str, Any]


def _names(names: Any) -> str:
    return ", ".join(str(n) for n in names) if names else "none"


def not_trained(event: Event) -> dict[str, str]:
    """Who was asked and gave no update, with why (``refused: ...``, a dropout's reason), in
    partner order; for a progress file written before dropouts carried reasons, the failures,
    errors and rejected updates it holds."""
    dropouts: dict[str, str] = dict(event.get("dropouts") or {})
    if not dropouts:
        dropouts = {name: "no reply" for name in event.get("failures") or ()}
        dropouts |= {n: f"bad data: {r}" for n, r in (event.get("errors") or {}).items()}
        dropouts |= {n: f"update rejected: {r}" for n, r in (event.get("rejected") or {}).items()}
    why = {
        n: f"refused: {r or 'no reason given'}" for n, r in (event.get("refusals") or {}).items()
    }
    why |= {n: f"dropped out: {r}" for n, r in dropouts.items()}
    return {name: why[name] for name in sorted(why)}


def epsilons(event: Event) -> str:
    """Each partner's cumulative ε of its budget, and what this round spent: ``p0 0.52/10
    (+0.26)``; ``-`` when no partner reported one (a run without DP)."""
    parts = []
    for name, e in sorted((event.get("epsilon") or {}).items()):
        spent = f" (+{e['spent']:.2f})" if e.get("spent") else ""
        parts.append(f"{name} {e['cumulative']:.2f}/{e['budget']:g}{spent}")
    return ", ".join(parts) or "-"


def _why(event: Event) -> str:
    return "; ".join(f"{n} {r}" for n, r in not_trained(event).items())


def event_line(event: Event) -> str | None:
    """The event as one plain line; None for the run's end (the command's summary says it)."""
    kind = event.get(Progress.EVENT)
    rnd = event.get("round")
    if kind == Progress.START:
        return f"run started: {event['rounds']} round(s), partners {_names(event['partners'])}"
    if kind == Progress.RESUME:
        return (
            f"run resumed after round {event['after_round']}: partners {_names(event['partners'])}"
        )
    if kind == Progress.ROUND_START:
        line = f"round {rnd}: training at {_names(event['asked'])}"
        if event.get("not_connected"):
            line += f"; not connected: {_names(event['not_connected'])}"
        return line
    if kind == Progress.ROUND:
        line = (
            f"round {rnd} done in {event['seconds']:.1f}s: trained {_names(event['participants'])}"
        )
        if not_trained(event):
            line += f"; {_why(event)}"
        return line + f"; ε {epsilons(event)}"
    if kind in (Progress.SKIPPED, Progress.STOPPED):
        return _withheld_line(event)
    if kind == Progress.FAILED:
        return f"run failed: {event['reason']}"
    return None


def _withheld_line(event: Event) -> str:
    """A round that released no model; a stopped run's reason already names every partner."""
    skipped = event.get(Progress.EVENT) == Progress.SKIPPED
    seconds = f" after {event['seconds']:.1f}s" if "seconds" in event else ""
    line = (
        f"round {event.get('round')} {'skipped' if skipped else 'stopped the run'}{seconds}, "
        f"no model released: {event['reason']}"
    )
    return f"{line}; {_why(event)}" if skipped and not_trained(event) else line


class RunView:
    """Shows a run's progress events; ``update`` takes every event so far and shows the new
    ones. A context manager: on a terminal it holds the live display while the run goes on."""

    def __init__(self, console: Console, name: str) -> None:
        self.console = console
        self.name = name
        self.live_mode = console.is_terminal
        self.shown = 0
        self.table = self._new_table()
        self.spinner = Spinner("dots", text=Text(f"run {name}: waiting for the coordinator"))
        self.current: Event | None = None
        self.live: Live | None = None
        self.closing = False

    def _new_table(self) -> Table:
        table = Table(title=f"run {self.name}", title_justify="left", expand=False)
        table.add_column("round", justify="right")
        table.add_column("time", justify="right")
        table.add_column("trained")
        table.add_column("did not train (why)")
        table.add_column("ε cumulative/budget (+ this round)")
        return table

    def __enter__(self) -> RunView:
        if self.live_mode:
            self.live = Live(
                self._render(), console=self.console, refresh_per_second=4, transient=False
            )
            self.live.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.live is not None:
            self.current, self.closing = None, True
            self.live.update(self._render(), refresh=True)
            self.live.__exit__(kind, value, tb)

    def update(self, events: list[dict[str, Any]]) -> None:
        for event in events[self.shown :]:
            self._show(event)
        self.shown = max(self.shown, len(events))
        if self.live is not None:
            self._tick()
            self.live.update(self._render(), refresh=True)

    def _show(self, event: Event) -> None:
        if not self.live_mode:
            line = event_line(event)
            if line is not None:
                self.console.print(line, markup=False, highlight=False, soft_wrap=True)
            return
        kind = event.get(Progress.EVENT)
        if kind == Progress.ROUND_START:
            self.current = event
        elif kind == Progress.ROUND:
            self.current = None
            self.table.add_row(
                str(event["round"]),
                f"{event['seconds']:.1f}s",
                Text(_names(event["participants"])),
                Text("\n".join(f"{n} {r}" for n, r in not_trained(event).items()) or "-"),
                Text(epsilons(event)),
            )
        elif kind in (Progress.SKIPPED, Progress.STOPPED, Progress.FAILED):
            self.current = None
            seconds = f"{event['seconds']:.1f}s" if "seconds" in event else "-"
            self.table.add_row(
                str(event.get("round", "-")), seconds, "-", Text(event_line(event) or ""), "-"
            )
        elif kind in (Progress.START, Progress.RESUME):
            self.table.caption = event_line(event)
            self.table.caption_justify = "left"

    def _tick(self) -> None:
        if self.current is None:
            self.spinner.update(text=Text(f"run {self.name}: waiting for the coordinator"))
            return
        elapsed = time.time() - float(self.current.get(Progress.TIME, time.time()))
        text = f"round {self.current['round']} running for {elapsed:.0f}s"
        text += f": training at {_names(self.current['asked'])}"
        if self.current.get("not_connected"):
            text += f"; not connected: {_names(self.current['not_connected'])}"
        self.spinner.update(text=Text(text))

    def _render(self) -> Group:
        """The table, and under it the round in progress (or, before the first event, that
        the command waits for the coordinator)."""
        if self.current is not None or (self.shown == 0 and not self.closing):
            return Group(self.table, self.spinner)
        return Group(self.table)


def print_evaluation(console: Console, metrics: Mapping[str, float]) -> None:
    """The last evaluation: the federation's totals (sums over partners), then the per-customer
    metrics (averages over partners, weighted by their customers)."""
    from coordinator.replies import SUMMED_METRICS
    from federation import Metric

    summed = (*SUMMED_METRICS, Metric.NUM_EXAMPLES)
    totals = {k: v for k, v in metrics.items() if k in summed}
    averages = {k: v for k, v in metrics.items() if k not in summed}
    console.print("federation totals (sums over partners):")
    console.print(json.dumps(totals, indent=1, sort_keys=True))
    console.print("per-customer metrics (averages over partners, weighted by customers):")
    console.print(json.dumps(averages, indent=1, sort_keys=True))
