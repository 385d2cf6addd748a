"""Canonical event files: what simulated partners hold."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from insight.files import replace_atomically

__all__ = ["write_event_file"]


def write_event_file(events: pd.DataFrame, path: Path) -> None:
    """Write canonical events to Parquet atomically.

    The table goes to a uniquely named temporary file in the same folder, is flushed to disk,
    then renamed over `path` (``os.replace``): a reader sees the old file or the whole new one,
    two writers never share a temporary file, and a failed write leaves nothing behind.
    The file is readable by its owner only (0600), as it may hold a partner's data.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with replace_atomically(path) as fh:
        events.reset_index(drop=True).to_parquet(fh, index=False)
