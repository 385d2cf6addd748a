"""Reading a Parquet file with errors a user can act on."""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from insight.errors import DataError
from insight.tables.lines import located
from insight.tables.names import check_unique_names

__all__ = ["read_parquet_frame"]


def read_parquet_frame(
    path: str | os.PathLike[str], *, private: bool = False, known_columns: Collection[str] = ()
) -> pd.DataFrame:
    """Read a whole Parquet file.

    A `private` read (a partner's file) quotes no library text, which could hold a value,
    and first refuses duplicate column names (see `check_unique_names`); a public one says
    what the library could not read.

    Raises:
        DataError: when the file is missing, empty, unreadable, not Parquet, or has no rows.
    """
    file, source = Path(path), str(path)
    frame = _read_private(file, source, known_columns) if private else _read_public(file, source)
    if frame.empty:
        raise DataError("no data rows", source=source)
    return frame


def _read_public(path: Path, source: str) -> pd.DataFrame:
    if not path.is_file():
        raise DataError("file not found", source=source)
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        # pyarrow's errors subclass these; the message says what it could not read.
        raise DataError(f"not a readable Parquet file ({exc})", source=source) from None


def _read_private(path: Path, source: str, known_columns: Collection[str]) -> pd.DataFrame:
    try:
        if path.stat().st_size == 0:
            raise located(source, "the file is empty (0 bytes)")
        # The footer alone: pandas refuses duplicate names with a message of its own.
        names = [str(n) for n in pq.read_schema(path).names]
        check_unique_names(names, source, known_columns, line=None)
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        # pyarrow's errors subclass these; their text is not ours to pass on.
        raise located(source, f"not a readable Parquet file ({type(exc).__name__})") from None
