"""The CDNOW data sets of Fader and Hardie: the master file and its 1/10 sample.

Both are whitespace-separated text, one purchase per line. The master file
(``customer_id date number_of_cds dollar_value``, usually with that header line) holds the
23,570 customers who first bought from CDNOW in the first quarter of 1997, followed to the end
of June 1998. The sample (2,357 of them, no header) has an extra first column, the customer's
id in the master file; the second column is the id Fader and Hardie's published summaries use.
A copy of the master file ships with this package (see ``insight/data/CDNOW_PROVENANCE.md``).
"""

from __future__ import annotations

import os
import re
from importlib import resources

import numpy as np
import pandas as pd

from insight.errors import DataError
from insight.schema import EventTable, LoadReport, validate_events
from insight.tables import (
    decode_text,
    gunzip_if_needed,
    parse_dates,
    parse_numbers,
    read_source_bytes,
)

__all__ = ["load_cdnow", "load_cdnow_sample"]

_BUNDLED = "data/cdnow_master.txt.gz"
_MASTER_COLUMNS = ("customer_id", "date", "number_of_cds", "dollar_value")
_SAMPLE_COLUMNS = ("master_customer_id", "customer_id", "date", "number_of_cds", "dollar_value")
_DATE = re.compile(r"^\d{8}$")


def load_cdnow(path: str | os.PathLike[str] | None = None) -> EventTable:
    """Load the CDNOW master file: the bundled copy by default, or ``path`` (plain or gzip).

    A first line whose first field is not a number is taken as the header and skipped.

    Raises:
        DataError: naming the file, line and column of the first malformed line (wrong field
            count, bad ``YYYYMMDD`` date, non-numeric or negative values, non-UTF-8 bytes),
            or an empty file.
    """
    if path is None:
        resource = resources.files("insight").joinpath(_BUNDLED)
        source = str(resource)
        raw = gunzip_if_needed(resource.read_bytes(), source=source)
    else:
        source = str(path)
        raw = read_source_bytes(path)
    frame, lines = _read_fields(raw, source=source, columns=_MASTER_COLUMNS)
    return _to_table(frame, lines, source=source, extras=())


def load_cdnow_sample(path: str | os.PathLike[str]) -> EventTable:
    """Load ``CDNOW_sample.txt`` (plain or gzip).

    ``customer_id`` is the sample's own id (second column, ``0001`` to ``2357``), the id of
    Fader and Hardie's published summaries; the master-file id is kept as the extra column
    ``master_customer_id``.

    Raises:
        DataError: as `load_cdnow`.
    """
    source = str(path)
    frame, lines = _read_fields(read_source_bytes(path), source=source, columns=_SAMPLE_COLUMNS)
    return _to_table(frame, lines, source=source, extras=("master_customer_id",))


def _read_fields(
    raw: bytes, *, source: str, columns: tuple[str, ...]
) -> tuple[pd.DataFrame, np.ndarray]:
    def locate_column(prefix: str) -> str | None:
        index = len(prefix.split()) - (1 if prefix and not prefix[-1].isspace() else 0)
        return columns[index] if 0 <= index < len(columns) else None

    text = decode_text(raw, source=source, locate_column=locate_column)
    rows: list[list[str]] = []
    lines: list[int] = []
    seen_content = False
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if not seen_content:
            seen_content = True
            if not fields[0].isdigit():
                continue  # the header line
        if len(fields) < len(columns):
            raise DataError(
                f"missing field: expected {len(columns)} fields "
                f"({' '.join(columns)}), found {len(fields)}",
                source=source,
                line=number,
                column=columns[len(fields)],
            )
        if len(fields) > len(columns):
            raise DataError(
                f"extra field: expected {len(columns)} fields "
                f"({' '.join(columns)}), found {len(fields)}",
                source=source,
                line=number,
            )
        rows.append(fields)
        lines.append(number)
    if not rows:
        raise DataError("no data lines (only a header)", source=source)
    frame = pd.DataFrame(rows, columns=list(columns), dtype=object)
    return frame, np.asarray(lines, dtype=np.int64)


def _to_table(
    frame: pd.DataFrame, lines: np.ndarray, *, source: str, extras: tuple[str, ...]
) -> EventTable:
    dates = frame["date"]
    malformed = ~dates.map(lambda text: bool(_DATE.match(text))).to_numpy(dtype=bool)
    if malformed.any():
        i = int(np.flatnonzero(malformed)[0])
        raise DataError(
            f"{dates.iloc[i]!r} is not a YYYYMMDD date",
            source=source,
            line=int(lines[i]),
            column="date",
        )
    events = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype("str"),
            "timestamp": parse_dates(
                dates, column="date", source=source, lines=lines, formats=("%Y%m%d",)
            ),
            "quantity": parse_numbers(
                frame["number_of_cds"], column="number_of_cds", source=source, lines=lines
            ),
            "amount": parse_numbers(
                frame["dollar_value"], column="dollar_value", source=source, lines=lines
            ),
        }
    )
    for name in extras:
        events[name] = frame[name].astype("str")
    for column, file_column in (("quantity", "number_of_cds"), ("amount", "dollar_value")):
        negative = events[column].to_numpy() < 0
        if negative.any():
            i = int(np.flatnonzero(negative)[0])
            raise DataError("negative value", source=source, line=int(lines[i]), column=file_column)
    events = validate_events(events, source=source, line_numbers=lines)
    report = LoadReport(source=source, rows_read=len(events), rows_kept=len(events), dropped={})
    return EventTable(events=events, report=report)
