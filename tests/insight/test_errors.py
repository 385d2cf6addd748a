from __future__ import annotations

import pickle

from insight.errors import DataError, InsightError


def test_data_error_names_source_line_and_column() -> None:
    error = DataError("bad date", source="sales.csv", line=12, column="date")

    assert str(error) == "sales.csv, line 12, column 'date': bad date"


def test_data_error_omits_unknown_parts() -> None:
    assert str(DataError("file is empty", source="a.txt")) == "a.txt: file is empty"
    assert str(DataError("m", source="a.txt", line=3)) == "a.txt, line 3: m"
    assert str(DataError("m", source="a.txt", column="x")) == "a.txt, column 'x': m"


def test_data_error_is_an_insight_error_with_fields() -> None:
    error = DataError("m", source="s", line=1, column="c")

    assert isinstance(error, InsightError)
    assert (error.message, error.source, error.line, error.column) == ("m", "s", 1, "c")


def test_data_error_survives_pickling() -> None:
    error = DataError("m", source="s", line=4, column="c")

    copy = pickle.loads(pickle.dumps(error))

    assert str(copy) == str(error)
    assert copy.line == 4
