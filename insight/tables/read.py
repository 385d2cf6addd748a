"""The one way into a table file: which format a name means, and how each is read."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from insight.errors import DataError
from insight.tables.csv_frame import read_csv_frame
from insight.tables.csv_text import read_csv_records
from insight.tables.excel import read_workbook
from insight.tables.lines import MAX_LINE_BYTES, data_line
from insight.tables.parquet import read_parquet_frame

__all__ = ["FORMATS", "ReadOptions", "Table", "read_table", "read_tables"]

FORMATS: Mapping[str, tuple[str, ...]] = {
    "parquet": (".parquet", ".pq"),
    "xlsx": (".xlsx", ".xlsm", ".xls"),
    "csv": (".csv", ".csv.gz", ".txt", ".txt.gz"),
    "tsv": (".tsv", ".tsv.gz"),
}
"""Each format and the file-name endings (lower case) that mean it."""


@dataclass(frozen=True)
class ReadOptions:
    """How to read a table file.

    `formats` are the formats accepted (keys of `FORMATS`), in the order an error lists
    them; ``tsv`` is csv's tab-separated variant and is not listed apart. `fallback` is the
    format of a name no accepted ending matches (None: such a name is refused).

    A public read (a published data set) keeps every CSV cell as text, names each row's line
    in `Table.lines`, and its messages may quote a value. A `private` read (a partner's own
    file) never quotes a value or a library's text, names a column only when it is in
    `known_columns`, bounds CSV lines to `max_line_bytes`, counts Parquet rows as ``row``,
    and lets pandas type each CSV column except `text_columns`.
    """

    formats: tuple[str, ...] = ("csv", "tsv", "parquet")
    fallback: str | None = None
    private: bool = False
    text_columns: tuple[str, ...] = ()
    known_columns: frozenset[str] = frozenset()
    encoding: str = "utf-8"
    max_line_bytes: int = MAX_LINE_BYTES

    def __post_init__(self) -> None:
        unknown = sorted({*self.formats, self.fallback or "csv"} - set(FORMATS))
        if unknown:
            raise ValueError(f"unknown table format(s): {', '.join(unknown)}")
        if self.max_line_bytes < 1:
            raise ValueError("max_line_bytes must be at least 1")


@dataclass(frozen=True, eq=False)
class Table:
    """One table read from a file: its rows and where each came from.

    `lines` holds each row's 1-based line (CSV, header = line 1) or row (Parquet, Excel with
    the header as row 1); it is None for a private CSV, whose lines `line_of` finds on demand.
    `unit` is the word a message uses for that number (``line`` or ``row``).
    """

    frame: pd.DataFrame
    source: str
    path: Path
    format: str
    lines: npt.NDArray[np.int64] | None
    unit: str = "line"

    def line_of(self, row: int) -> int | None:
        """The line (or row) of 0-based data row `row`."""
        if self.lines is not None:
            return int(self.lines[row])
        return data_line(self.path, row)


def read_table(path: str | os.PathLike[str], options: ReadOptions | None = None) -> Table:
    """The file's table; for a workbook, its first sheet with data rows.

    Raises:
        DataError: for a name no accepted format matches, or what the format's reader
            refuses (see `read_tables`).
    """
    return read_tables(path, options)[0]


def read_tables(path: str | os.PathLike[str], options: ReadOptions | None = None) -> list[Table]:
    """Every table of the file: each sheet with data rows of a workbook, else the one table.

    A sheet's `Table.source` is ``"<path> [sheet '<name>']"``.

    Raises:
        DataError: for a name no accepted format matches; a missing, empty or unreadable
            file; a header without data rows; or, in a CSV file, a record that breaks the
            layout, naming its line.
    """
    options = options or ReadOptions()
    # Messages name the file as the caller spelled it (Path() would drop a leading "./").
    source = str(path)
    file = Path(path)
    kind = _format_of(file, source, options)
    unit = "row" if options.private else "line"
    if kind == "xlsx":
        return [
            Table(frame, f"{source} [sheet {sheet!r}]", file, kind, _positions(frame, 2), unit)
            for sheet, frame in read_workbook(path).items()
        ]
    if kind == "parquet":
        frame = read_parquet_frame(
            path, private=options.private, known_columns=options.known_columns
        )
        return [Table(frame, source, file, kind, _positions(frame, 1), unit)]
    if options.private:
        frame = read_csv_frame(
            path,
            text_columns=options.text_columns,
            known_columns=options.known_columns,
            max_line_bytes=options.max_line_bytes,
        )
        return [Table(frame, source, file, kind, None)]
    delimiter = "\t" if "tsv" in options.formats and ".tsv" in file.name.lower() else ","
    frame, lines = read_csv_records(path, encoding=options.encoding, delimiter=delimiter)
    return [Table(frame, source, file, kind, lines)]


def _format_of(path: Path, source: str, options: ReadOptions) -> str:
    name = path.name.lower()
    for kind in ("parquet", "xlsx", "csv", "tsv"):
        if kind in options.formats and name.endswith(FORMATS[kind]):
            return "csv" if kind == "tsv" else kind
    if options.fallback is not None:
        return options.fallback
    listed = [f".{kind}" for kind in options.formats if kind != "tsv"]
    expected = listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} or {listed[-1]}"
    raise DataError(f"unsupported file type; expected {expected}", source=source)


def _positions(frame: pd.DataFrame, first: int) -> npt.NDArray[np.int64]:
    return np.arange(first, len(frame) + first, dtype=np.int64)
