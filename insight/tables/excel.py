"""Reading every sheet of an Excel workbook."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from insight.errors import DataError

__all__ = ["read_workbook"]


def read_workbook(path: str | os.PathLike[str]) -> dict[str, pd.DataFrame]:
    """Each sheet that holds data rows, by name, in the workbook's order.

    Raises:
        DataError: when the file is missing, not a readable workbook, or has no data rows.
    """
    source = str(path)
    if not Path(path).is_file():
        raise DataError("file not found", source=source)
    try:
        sheets = pd.read_excel(path, sheet_name=None)
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"not a readable Excel workbook ({exc})", source=source) from None
    sheets = {str(name): frame for name, frame in sheets.items() if not frame.empty}
    if not sheets:
        raise DataError("workbook has no data rows", source=source)
    return sheets
