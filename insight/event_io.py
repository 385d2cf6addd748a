"""Canonical event files: what simulated partners hold."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from insight.errors import DataError
from insight.files import replace_atomically
from insight.schema import REQUIRED_COLUMNS, validate_events

__all__ = ["read_event_file", "write_event_file"]


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


def read_event_file(path: Path) -> pd.DataFrame:
    """Read a canonical event file (Parquet, or CSV with the canonical column names)."""
    if not path.exists():
        raise DataError("file not found", source=str(path))
    if path.suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise DataError(f"not a readable Parquet file ({exc})", source=str(path)) from exc
    else:
        from insight.datasets import ColumnMapping, load_table

        mapping = ColumnMapping(
            customer_id="customer_id", timestamp="timestamp", quantity="quantity", amount="amount"
        )
        return load_table(path, mapping).events
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", source=str(path))
    return validate_events(frame, source=str(path))
