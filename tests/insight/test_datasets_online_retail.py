from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from insight.datasets import load_online_retail
from insight.errors import DataError

CSV_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
# UCI's CSV layout: one kept line per reason, and one line kept.
CSV_ROWS = (
    "536365,85123A,WHITE HANGING HEART,6,12/1/2010 8:26,2.55,17850.0,United Kingdom\n"
    "C536379,D,Discount,-1,12/1/2010 9:41,27.5,14527.0,United Kingdom\n"
    "536414,22139,,56,12/1/2010 11:52,0.0,,United Kingdom\n"
    "536589,21777,,-10,12/1/2010 16:50,0.0,12346.0,United Kingdom\n"
    "A563185,B,Adjust bad debt,1,8/12/2011 14:50,0.0,12347,United Kingdom\n"
    "536366,22633,HAND WARMER,2,12/13/2010 8:28,1.85,12346.0,France\n"
)


def _csv(tmp_path: Path, body: str = CSV_ROWS, header: str = CSV_HEADER) -> Path:
    path = tmp_path / "online_retail.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def _release_two_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Invoice": ["489434", "C489449", "489435"],
            "StockCode": ["85048", "22087", "22350"],
            "Description": ["A", "B", "C"],
            "Quantity": [12, -12, 3],
            "InvoiceDate": pd.to_datetime(
                ["2009-12-01 07:45", "2009-12-01 10:33", "2010-01-04 09:00"]
            ),
            "Price": [6.95, 2.95, 1.25],
            "Customer ID": [13085.0, 16321.0, float("nan")],
            "Country": ["United Kingdom", "Australia", "United Kingdom"],
        }
    )


def test_csv_keeps_valid_lines_with_amount_and_country(tmp_path: Path) -> None:
    events = load_online_retail(_csv(tmp_path)).events

    assert events["customer_id"].tolist() == ["17850", "12346"]
    assert events["amount"].tolist() == pytest.approx([6 * 2.55, 2 * 1.85])
    assert events["Country"].tolist() == ["United Kingdom", "France"]
    assert events["timestamp"].tolist() == [
        pd.Timestamp("2010-12-01 08:26"),
        pd.Timestamp("2010-12-13 08:28"),
    ]


def test_csv_drops_are_counted_once_each_by_first_reason(tmp_path: Path) -> None:
    report = load_online_retail(_csv(tmp_path)).report

    assert report.rows_read == 6
    assert report.rows_kept == 2
    assert report.dropped == {
        "cancellations": 1,
        "missing_customer_id": 1,
        "non_positive_quantity": 1,
        "non_positive_price": 1,
    }


def test_release_two_workbook_reads_every_sheet(tmp_path: Path) -> None:
    frame = _release_two_frame()
    path = tmp_path / "online_retail_II.xlsx"
    with pd.ExcelWriter(path) as writer:
        frame.iloc[:2].to_excel(writer, sheet_name="Year 2009-2010", index=False)
        frame.iloc[2:].to_excel(writer, sheet_name="Year 2010-2011", index=False)

    table = load_online_retail(path)

    assert table.events["customer_id"].tolist() == ["13085"]
    assert table.report.rows_read == 3
    assert table.report.dropped["cancellations"] == 1
    assert table.report.dropped["missing_customer_id"] == 1


def test_release_two_parquet_matches_the_csv_rules(tmp_path: Path) -> None:
    path = tmp_path / "online_retail_II.parquet"
    _release_two_frame().to_parquet(path)

    events = load_online_retail(path).events

    assert events["customer_id"].tolist() == ["13085"]
    assert events["amount"].tolist() == pytest.approx([12 * 6.95])


def test_missing_column_is_named(tmp_path: Path) -> None:
    header = CSV_HEADER.replace("UnitPrice", "Cost")

    with pytest.raises(DataError, match="missing column") as caught:
        load_online_retail(_csv(tmp_path, header=header))

    assert caught.value.column == "UnitPrice"


def test_bad_date_names_line_and_column(tmp_path: Path) -> None:
    body = CSV_ROWS + "536367,22633,HAND WARMER,2,13/45/2010 8:28,1.85,12346.0,France\n"

    with pytest.raises(DataError, match="not a date") as caught:
        load_online_retail(_csv(tmp_path, body=body))

    assert (caught.value.line, caught.value.column) == (8, "InvoiceDate")


def test_wrong_type_names_line_and_column(tmp_path: Path) -> None:
    body = "536365,85123A,WHITE,six,12/1/2010 8:26,2.55,17850.0,United Kingdom\n"

    with pytest.raises(DataError, match="not a finite number") as caught:
        load_online_retail(_csv(tmp_path, body=body))

    assert (caught.value.line, caught.value.column) == (2, "Quantity")


def test_missing_field_names_line_and_column(tmp_path: Path) -> None:
    body = CSV_ROWS + "536367,22633,HAND WARMER,2,12/1/2010 8:28,1.85,12346.0\n"

    with pytest.raises(DataError, match="missing field") as caught:
        load_online_retail(_csv(tmp_path, body=body))

    assert (caught.value.line, caught.value.column) == (8, "Country")


def test_non_utf8_bytes_name_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        (CSV_HEADER + CSV_ROWS + "1,2,CAF\xc9,1,12/1/2010 8:26,1.0,1,UK\n").encode("latin-1")
    )

    with pytest.raises(DataError, match="not valid utf-8") as caught:
        load_online_retail(path)

    assert (caught.value.line, caught.value.column) == (8, "Description")


def test_latin1_file_loads_with_its_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((CSV_HEADER + "1,2,CAF\xc9,1,12/1/2010 8:26,1.0,1,UK\n").encode("latin-1"))

    assert load_online_retail(path, encoding="latin-1").report.rows_kept == 1


def test_empty_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    with pytest.raises(DataError, match="empty"):
        load_online_retail(path)


def test_unsupported_suffix_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text("{}")

    with pytest.raises(DataError, match="unsupported file type"):
        load_online_retail(path)


def test_real_2010_2011_release(online_retail_path: Path) -> None:
    table = load_online_retail(online_retail_path)

    assert table.report.rows_read == 541_909
    assert table.report.rows_kept == 397_884
    assert table.report.dropped == {
        "cancellations": 9_288,
        "missing_customer_id": 134_697,
        "non_positive_quantity": 0,
        "non_positive_price": 40,
    }
    assert table.events["customer_id"].nunique() == 4_338
    assert not table.events["customer_id"].str.contains(".", regex=False).any()
