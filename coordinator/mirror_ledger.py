"""The coordinator's mirror ledger: what each partner reported of its ε, round by round.

Append-only JSON lines (``RunDir.epsilon_ledger``), written after the round's audit record. The
audit log is the record; the mirror is a plain-text copy for whoever runs the coordinator.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from federation import Status


def append_ledger(
    path: Path,
    rnd: int,
    spent: Mapping[str, float],
    cumulative: Mapping[str, float],
    budgets: Mapping[str, float],
    refusals: Mapping[str, str],
) -> None:
    """One line per partner that trained or refused in round ``rnd``, in name order."""
    with path.open("a", encoding="utf-8") as fh:
        for name in sorted(set(cumulative) | set(refusals)):
            entry = {
                "round": rnd,
                "partner": name,
                "status": Status.REFUSED if name in refusals else Status.TRAINED,
                "epsilon_spent": spent.get(name, 0.0),
                "epsilon_cumulative": cumulative.get(name),
                "epsilon_budget": budgets.get(name),
            }
            fh.write(json.dumps(entry, sort_keys=True) + "\n")


def mend_ledger(path: Path, last_round: Mapping[str, Any] | None) -> None:
    """Append the lines of the last logged round (its audit record, ``last_round``) if a crash
    lost them: the audit log is written first, the mirror ledger second."""
    if last_round is None:
        return
    rounds = set()
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                rounds.add(json.loads(line).get("round"))
    if last_round["round"] in rounds:
        return
    append_ledger(
        path,
        last_round["round"],
        last_round["epsilon_spent"],
        last_round["epsilon_cumulative"],
        last_round["epsilon_budget"],
        {name: "" for name in last_round["refusals"]},
    )
