"""`client_node.data_check`: a partner's file read as a run reads it, reported in aggregate."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from anonymization import PartnerSchema
from client_node.data_check import check_node_data, check_partner_data
from client_node.errors import PartnerDataError
from client_node.home import NodeHome

HEADER = "customer_id,timestamp,quantity,amount\n"
SECRET = "ada.lovelace@example.org"


def _csv(tmp_path: Path, text: str, name: str = "events.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_is_counted(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        HEADER
        + "00001,1997-01-02,1,10.5\n"
        + "00002,1997-03-05,2,3\n"
        + "00001,1997-02-01,1,4\n"
        + ",1997-04-01,1,4\n",  # no customer id: left out, as the run leaves it out
    )

    report = check_partner_data(path)

    assert report.rows_read == 4
    assert report.rows_kept == 3
    assert report.customers == 2
    assert (report.first_day, report.last_day) == (date(1997, 1, 2), date(1997, 3, 5))
    assert report.dropped == {"missing_customer_id": 1}


def test_rows_without_consent_are_counted_by_reason(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "client,consent,timestamp,quantity,amount\n"
        "a,yes,1997-01-02,1,1\nb,no,1997-01-03,1,1\nc,no,1997-01-04,1,1\n",
    )
    schema = PartnerSchema("client", consent_column="consent")

    report = check_partner_data(path, schema)

    assert (report.rows_read, report.rows_kept, report.customers) == (3, 1, 1)
    assert report.dropped == {"no_consent": 2}


def test_a_parquet_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    pd.DataFrame(
        {
            "customer_id": ["a", "b", "b"],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-02-01"]),
            "quantity": [1.0, 2.0, 1.0],
            "amount": [1.0, 2.0, 3.0],
        }
    ).to_parquet(path)

    report = check_partner_data(path)

    assert (report.rows_kept, report.customers) == (3, 2)
    assert report.last_day == date(2024, 2, 1)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.csv"

    with pytest.raises(PartnerDataError, match="not found") as info:
        check_partner_data(path)

    assert str(path) in str(info.value)


def test_a_missing_column_names_the_file_and_the_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, "customer_id,quantity,amount\n00001,1,1\n")

    with pytest.raises(PartnerDataError) as info:
        check_partner_data(path)

    assert str(path) in str(info.value)
    assert "'timestamp'" in str(info.value)


def test_a_missing_schema_column_is_named(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER + "00001,1997-01-02,1,1\n")

    with pytest.raises(PartnerDataError, match="'client'"):
        check_partner_data(path, PartnerSchema("client"))


def test_a_malformed_line_is_named_without_its_value(tmp_path: Path) -> None:
    path = _csv(
        tmp_path, HEADER + "00001,1997-01-02,1,1\n00002,1997-01-03,1,1\n" + f"00003,{SECRET},1,1\n"
    )

    with pytest.raises(PartnerDataError) as info:
        check_partner_data(path)

    message = str(info.value)
    assert f"{path}, line 4, column 'timestamp'" in message
    assert SECRET not in message


def test_a_file_with_no_usable_row_is_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER + ",1997-01-02,1,1\n")

    with pytest.raises(PartnerDataError, match="no usable row"):
        check_partner_data(path)


def test_a_node_folder_is_checked_with_its_schema(tmp_path: Path) -> None:
    data = _csv(tmp_path, "client,timestamp,quantity,amount\nx,2024-01-01,1,1\ny,2024-01-02,1,1\n")
    root = tmp_path / "node"
    root.mkdir()
    PartnerSchema("client").save(root / "schema.toml")
    (root / "node.toml").write_text(
        f'data-path = "{data}"\nschema-path = "schema.toml"\n', encoding="utf-8"
    )

    report = check_node_data(NodeHome(root))

    assert (report.rows_kept, report.customers) == (2, 2)


def test_a_folder_that_is_no_node_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PartnerDataError, match="not a node folder"):
        check_node_data(NodeHome(tmp_path))
