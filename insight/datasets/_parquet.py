"""Reading a Parquet file with errors a user can act on."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from insight.errors import DataError

__all__ = ["read_parquet_frame"]


def read_parquet_frame(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a whole Parquet file.

    Raises:
        DataError: when the file is missing, unreadable, not Parquet, or has no rows.
    """
    source = str(path)
    if not Path(path).is_file():
        raise DataError("file not found", source=source)
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        # pyarrow's errors subclass these; the message says what it could not read.
        raise DataError(f"not a readable Parquet file ({exc})", source=source) from None
    if frame.empty:
        raise DataError("no data rows", source=source)
    return frame
