"""Exceptions raised by the shared customer-insight domain."""

from __future__ import annotations

__all__ = ["DataError", "InsightError"]


class InsightError(Exception):
    """Base class of every error raised by ``insight``."""


class DataError(InsightError):
    """Bad input data, located as precisely as the source allows.

    ``str()`` reads ``"<source>, line <line>, column '<column>': <message>"``; the line and
    column parts are left out when unknown. ``line`` is 1-based and counts the file's own
    lines (a CSV header is line 1); for row-oriented formats without lines (Parquet, Excel)
    it is the row number a spreadsheet user would see. ``unit`` is the word shown before the
    number: ``"line"``, or ``"row"`` where a reader counts data rows (a partner's Parquet file).

    Notes:
        The message names where the problem is, never the offending value when that value may
        identify a person (a customer id, for instance).
    """

    def __init__(
        self,
        message: str,
        *,
        source: str,
        line: int | None = None,
        column: str | None = None,
        unit: str = "line",
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        self.unit = unit
        super().__init__(self._render())

    def _render(self) -> str:
        where = self.source
        if self.line is not None:
            where += f", {self.unit} {self.line}"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments need help to survive pickling (multiprocessing, Ray workers).
        return (
            _rebuild_data_error,
            (self.message, self.source, self.line, self.column, self.unit),
        )


def _rebuild_data_error(
    message: str, source: str, line: int | None, column: str | None, unit: str = "line"
) -> DataError:
    return DataError(message, source=source, line=line, column=column, unit=unit)
