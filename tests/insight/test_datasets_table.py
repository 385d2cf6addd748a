from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from insight.datasets import ColumnMapping, load_table
from insight.errors import DataError

MAPPING = ColumnMapping(
    customer_id="client", timestamp="day", quantity="units", amount="paid", extra=("shop",)
)


def _csv(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "purchases.csv"
    path.write_text("client,day,units,paid,shop\n" + body, encoding="utf-8")
    return path


def test_csv_is_mapped_to_the_event_schema(tmp_path: Path) -> None:
    path = _csv(
        tmp_path, "7.0,2021-03-01,2,10.5,north\n,2021-03-02,1,1.0,south\nx9,2021-03-02,1,4,south\n"
    )

    table = load_table(path, MAPPING)

    assert table.events["customer_id"].tolist() == ["7", "x9"]
    assert table.events["shop"].tolist() == ["north", "south"]
    assert table.events["amount"].tolist() == [10.5, 4.0]
    assert table.report.dropped == {"missing_customer_id": 1}
    assert (table.report.rows_read, table.report.rows_kept) == (3, 2)


def test_date_format_and_missing_quantity(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,01/03/2021,2,10.5,n\n")
    mapping = ColumnMapping("client", "day", None, "paid", date_format="%d/%m/%Y")

    events = load_table(path, mapping).events

    assert events["timestamp"].tolist() == [pd.Timestamp("2021-03-01")]
    assert events["quantity"].tolist() == [1.0]


def test_parquet_rows_are_reported_by_position(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pd.DataFrame(
        {
            "client": ["a", "b"],
            "day": pd.to_datetime(["2021-01-01", "2021-01-02"]),
            "units": [1, 1],
            "paid": [1.0, -1.0],
            "shop": ["n", "s"],
        }
    ).to_parquet(path)

    with pytest.raises(DataError, match="negative amount") as caught:
        load_table(path, MAPPING)

    assert (caught.value.line, caught.value.column) == (2, "paid")


def test_unmapped_column_is_named(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,2021-03-01,2,10.5,n\n")

    with pytest.raises(DataError, match="missing column") as caught:
        load_table(path, ColumnMapping("client", "when", "units", "paid"))

    assert caught.value.column == "when"


def test_bad_date_names_line_and_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,2021-03-01,2,10.5,n\nb,yesterday,1,1,n\n")

    with pytest.raises(DataError, match="not a date") as caught:
        load_table(path, MAPPING)

    assert (caught.value.line, caught.value.column) == (3, "day")


def test_quoted_multiline_field_keeps_line_numbers(tmp_path: Path) -> None:
    path = _csv(tmp_path, 'a,2021-03-01,2,10.5,"two\nlines"\nb,2021-03-01,x,1,n\n')

    with pytest.raises(DataError) as caught:
        load_table(path, MAPPING)

    assert (caught.value.line, caught.value.column) == (4, "units")


def test_non_utf8_bytes_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(b"client,day,units,paid,shop\na,2021-03-01,2,10.5,\xe9\n")

    with pytest.raises(DataError, match="not valid utf-8") as caught:
        load_table(path, MAPPING)

    assert (caught.value.line, caught.value.column) == (2, "shop")


def test_header_without_rows_is_reported(tmp_path: Path) -> None:
    path = _csv(tmp_path, "")

    with pytest.raises(DataError, match="no data rows") as caught:
        load_table(path, MAPPING)

    assert caught.value.line == 1
