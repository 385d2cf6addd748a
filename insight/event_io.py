"""Canonical event files (what simulated partners hold) and the dataset registry."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from insight.errors import DataError, InsightError
from insight.files import replace_atomically
from insight.schema import REQUIRED_COLUMNS, EventTable, validate_events

DATASETS = ("cdnow", "online-retail", "csv")
_CANONICAL = "customer_id=customer_id,timestamp=timestamp,quantity=quantity,amount=amount"


def parse_columns(spec: str) -> dict[str, str]:
    """``"customer_id=Cust,timestamp=Date"`` -> mapping of event field to source column."""
    fields: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not value:
            raise InsightError(f"column mapping {part!r} is not of the form field=column")
        fields[key.strip()] = value.strip()
    unknown = set(fields) - {"customer_id", "timestamp", "quantity", "amount", "date_format"}
    if unknown:
        raise InsightError(f"column mapping names unknown field(s): {', '.join(sorted(unknown))}")
    return fields


def load_dataset(name: str, path: str | Path | None = None, columns: str = "") -> EventTable:
    """Load a named dataset: ``cdnow`` (bundled unless ``path``), ``online-retail`` (``path``),
    or ``csv`` (a CSV/Parquet ``path`` read through the ``columns`` mapping)."""
    from insight.datasets import ColumnMapping, load_cdnow, load_online_retail, load_table

    if name == "cdnow":
        return load_cdnow(Path(path) if path else None)
    if name == "online-retail":
        if not path:
            raise InsightError(
                "the online-retail dataset is not bundled: pass the path of your download"
            )
        return load_online_retail(Path(path))
    if name == "csv":
        if not path:
            raise InsightError("the csv dataset needs the path of a CSV or Parquet file")
        fields = parse_columns(_CANONICAL) | parse_columns(columns)
        return load_table(
            Path(path),
            ColumnMapping(
                customer_id=fields["customer_id"],
                timestamp=fields["timestamp"],
                quantity=fields["quantity"],
                amount=fields["amount"],
                date_format=fields.get("date_format"),
            ),
        )
    raise InsightError(f"unknown dataset {name!r}: use one of {', '.join(DATASETS)} or csv")


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
