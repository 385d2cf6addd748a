"""The one table reader: formats by name, public and private reads, located errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pytest

from insight.errors import DataError
from insight.tables import ReadOptions, read_table, read_tables


def test_an_unsupported_name_lists_the_accepted_formats(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text("{}")

    with pytest.raises(DataError, match=r"expected \.csv or \.parquet$"):
        read_table(path)
    with pytest.raises(DataError, match=r"expected \.xlsx, \.csv or \.parquet$"):
        read_table(path, ReadOptions(formats=("xlsx", "csv", "parquet")))


def test_a_fallback_format_reads_any_other_name(tmp_path: Path) -> None:
    path = tmp_path / "events.dat"
    path.write_text("a,b\n1,x\n")

    table = read_table(path, ReadOptions(formats=("parquet",), fallback="csv", private=True))

    assert table.frame["a"].tolist() == [1]


def test_a_public_csv_keeps_every_cell_as_text_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "events.tsv"
    path.write_text("a\tb\n\n01\t2.5\n")

    table = read_table(path)

    assert table.frame.to_dict("list") == {"a": ["01"], "b": ["2.5"]}
    assert table.line_of(0) == 3


def test_a_private_csv_types_all_but_its_text_columns(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("a,b\n\n01,2.5\n")

    table = read_table(path, ReadOptions(private=True, text_columns=("a",)))

    assert table.frame.to_dict("list") == {"a": ["01"], "b": [2.5]}
    assert table.line_of(0) == 3


def test_a_private_parquet_counts_rows_and_quotes_no_library_text(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    path.write_bytes(b"not parquet at all")

    with pytest.raises(DataError) as caught:
        read_table(path, ReadOptions(private=True))

    assert str(caught.value) == f"{path}: not a readable Parquet file (ArrowInvalid)"
    pd.DataFrame({"a": [1, 2]}).to_parquet(path)
    assert read_table(path, ReadOptions(private=True)).unit == "row"
    assert read_table(path).unit == "line"


def test_a_repeated_header_name_is_refused_in_a_private_read(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("a,a\n1,2\n")

    with pytest.raises(DataError, match=r"line 1: column name 'a' appears twice"):
        read_table(path, ReadOptions(private=True, known_columns=frozenset({"a"})))


def test_each_workbook_sheet_is_a_table_located_by_spreadsheet_row(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"a": [1, 2]}).to_excel(writer, sheet_name="one", index=False)
        pd.DataFrame({"a": [3]}).to_excel(writer, sheet_name="two", index=False)

    tables = read_tables(path, ReadOptions(formats=("xlsx",)))

    assert [t.source for t in tables] == [f"{path} [sheet 'one']", f"{path} [sheet 'two']"]
    assert [t.line_of(0) for t in tables] == [2, 2]


def test_a_row_unit_is_shown_and_survives_pickling() -> None:
    error = DataError("not a number", source="p.parquet", line=2, column="amount", unit="row")

    copy = pickle.loads(pickle.dumps(error))

    assert str(copy) == "p.parquet, row 2, column 'amount': not a number"
    assert copy.unit == "row"
