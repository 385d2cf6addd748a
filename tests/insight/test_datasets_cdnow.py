from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.datasets import load_cdnow, load_cdnow_sample
from insight.errors import DataError

MASTER_HEADER = " customer_id  date number_of_cds  dollar_value\r\n"


def _write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _master(tmp_path: Path, *lines: str) -> Path:
    return _write(tmp_path / "master.txt", MASTER_HEADER + "".join(f"{x}\r\n" for x in lines))


def test_bundled_master_has_the_whole_panel() -> None:
    table = load_cdnow()

    assert table.report.rows_read == table.report.rows_kept == 69_659
    assert table.events["customer_id"].nunique() == 23_570
    assert table.events["timestamp"].min() == pd.Timestamp("1997-01-01")
    assert table.events["timestamp"].max() == pd.Timestamp("1998-06-30")


def test_user_master_file_is_parsed_field_by_field(tmp_path: Path) -> None:
    path = _master(tmp_path, " 00001 19970101  1   11.77", " 00002 19970112  5   77.00")

    events = load_cdnow(path).events

    assert events["customer_id"].tolist() == ["00001", "00002"]
    assert events["timestamp"].tolist() == [pd.Timestamp("1997-01-01"), pd.Timestamp("1997-01-12")]
    assert events["quantity"].tolist() == [1.0, 5.0]
    assert events["amount"].tolist() == [11.77, 77.0]
    assert events["timestamp"].dtype == np.dtype("datetime64[ns]")


def test_gzip_master_and_headerless_master_load(tmp_path: Path) -> None:
    body = " 00001 19970101  1   11.77\n"
    gz = _write(tmp_path / "m.txt.gz", gzip.compress((MASTER_HEADER + body).encode()))
    plain = _write(tmp_path / "m.txt", body)

    assert load_cdnow(gz).events.equals(load_cdnow(plain).events)


def test_sample_uses_the_sample_id_and_keeps_the_master_id(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.txt", " 00004 0001 19970101  2   29.33\r\n")

    events = load_cdnow_sample(path).events

    assert events.loc[0, "customer_id"] == "0001"
    assert events.loc[0, "master_customer_id"] == "00004"


def test_real_sample_has_2357_customers(cdnow_sample_path: Path) -> None:
    table = load_cdnow_sample(cdnow_sample_path)

    assert table.report.rows_read == 6_919
    assert table.events["customer_id"].nunique() == 2_357


def test_bad_date_names_line_and_column(tmp_path: Path) -> None:
    path = _master(tmp_path, " 00001 19970101  1   11.77", " 00002 19971332  1   12.00")

    with pytest.raises(DataError) as caught:
        load_cdnow(path)

    assert (caught.value.line, caught.value.column) == (3, "date")
    assert "line 3" in str(caught.value)


def test_short_date_is_not_read_leniently(tmp_path: Path) -> None:
    path = _master(tmp_path, " 00001 1997011  1   11.77")

    with pytest.raises(DataError, match="YYYYMMDD") as caught:
        load_cdnow(path)

    assert caught.value.line == 2


def test_missing_field_names_the_absent_column(tmp_path: Path) -> None:
    path = _master(tmp_path, " 00001 19970101  1   11.77", " 00002 19970112  1")

    with pytest.raises(DataError, match="missing field") as caught:
        load_cdnow(path)

    assert (caught.value.line, caught.value.column) == (3, "dollar_value")


def test_extra_field_names_the_line(tmp_path: Path) -> None:
    path = _master(tmp_path, " 00001 19970101  1   11.77  9")

    with pytest.raises(DataError, match="extra field") as caught:
        load_cdnow(path)

    assert caught.value.line == 2


def test_non_numeric_value_names_line_and_column(tmp_path: Path) -> None:
    path = _master(tmp_path, " 00001 19970101  one   11.77")

    with pytest.raises(DataError, match="not a finite number") as caught:
        load_cdnow(path)

    assert (caught.value.line, caught.value.column) == (2, "number_of_cds")


def test_negative_dollars_are_rejected(tmp_path: Path) -> None:
    path = _master(tmp_path, " 00001 19970101  1   11.77", " 00001 19970102  1  -3.00")

    with pytest.raises(DataError, match="negative") as caught:
        load_cdnow(path)

    assert (caught.value.line, caught.value.column) == (3, "dollar_value")


def test_non_utf8_bytes_name_line_and_column(tmp_path: Path) -> None:
    raw = (MASTER_HEADER + " 00001 19970101  1   11.77\r\n 00002 1997\xff112 1 2.00\r\n").encode(
        "latin-1"
    )
    path = _write(tmp_path / "m.txt", raw)

    with pytest.raises(DataError, match="not valid utf-8") as caught:
        load_cdnow(path)

    assert (caught.value.line, caught.value.column) == (3, "date")


def test_empty_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="empty"):
        load_cdnow(_write(tmp_path / "m.txt", "  \r\n"))


def test_header_only_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no data lines"):
        load_cdnow(_write(tmp_path / "m.txt", MASTER_HEADER))


def test_missing_file_is_a_data_error_without_traceback_chain(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found") as caught:
        load_cdnow(tmp_path / "absent.txt")

    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
