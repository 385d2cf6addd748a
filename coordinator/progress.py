"""Round-by-round progress, appended as JSON lines so a CLI can follow the run live.

Each line is an object with ``event`` (one of ``federation.Progress``), ``time`` (Unix seconds)
and the event's fields.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from federation import Progress


class ProgressLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, event: str, **fields: Any) -> None:
        record = {Progress.EVENT: event, Progress.TIME: time.time(), **fields}
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")
            fh.flush()


def read_progress(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a line still being written
    return out
