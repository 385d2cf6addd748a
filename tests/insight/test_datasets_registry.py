from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from insight import InsightError, default_periods, load_dataset
from insight.datasets import DATASET_REGISTRY, find_dataset
from insight.protocol import Periods


def test_online_retail_defaults_are_found_by_its_dataset_name() -> None:
    expected = Periods(
        pd.Timestamp("2011-06-30"), pd.Timestamp("2011-12-09"), pd.Timestamp("2010-12-01")
    )

    assert default_periods("online-retail") == expected
    assert find_dataset("online-retail").periods == expected


def test_cdnow_defaults_are_the_published_39_week_split_from_the_panels_first_day() -> None:
    assert default_periods("cdnow") == Periods(
        pd.Timestamp("1997-09-30"), pd.Timestamp("1998-06-30"), pd.Timestamp("1997-01-01")
    )


@pytest.mark.parametrize("name", sorted(DATASET_REGISTRY))
def test_every_dataset_has_a_loader_and_help_under_its_own_name(name: str) -> None:
    dataset = DATASET_REGISTRY[name]

    assert dataset.name == name
    assert callable(dataset.loader)
    assert dataset.help.strip()


@pytest.mark.parametrize("name", sorted(set(DATASET_REGISTRY) - {"csv"}))
def test_every_published_dataset_has_default_periods(name: str) -> None:
    periods = DATASET_REGISTRY[name].periods

    assert periods is not None
    assert periods.calibration_end < periods.holdout_end


def test_the_users_own_table_has_no_default_periods() -> None:
    assert DATASET_REGISTRY["csv"].periods is None
    assert default_periods("csv") is None
    assert default_periods("no-such-dataset") is None


def test_an_unknown_name_lists_the_known_ones() -> None:
    known = "cdnow, online-retail, synthetic or csv"
    with pytest.raises(InsightError, match=rf"unknown dataset 'x': use one of {known}"):
        load_dataset("x")


@pytest.mark.parametrize("name", ["online-retail", "synthetic", "csv"])
def test_a_dataset_that_is_not_bundled_needs_a_path(name: str) -> None:
    with pytest.raises(InsightError, match="path"):
        load_dataset(name)


def test_csv_is_read_through_its_column_mapping(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("who,when,n,paid\na,2021-03-01,2,10.5\n", encoding="utf-8")

    table = load_dataset("csv", path, "customer_id=who,timestamp=when,quantity=n,amount=paid")

    assert table.events["customer_id"].tolist() == ["a"]
    assert table.events["amount"].tolist() == [10.5]


def test_a_csv_visit_log_with_only_customer_and_date_loads_with_no_amounts(
    tmp_path: Path,
) -> None:
    path = tmp_path / "visits.csv"
    path.write_text("customer_id,timestamp\na,2024-01-02\na,2024-02-03\nb,2024-01-05\n")
    events = load_dataset("csv", path).events
    assert events["quantity"].tolist() == [1.0, 1.0, 1.0]
    assert events["amount"].tolist() == [0.0, 0.0, 0.0]


def test_a_mapped_amount_column_must_be_there(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    path.write_text("customer_id,timestamp\na,2024-01-02\n")
    with pytest.raises(InsightError, match="paid"):
        load_dataset("csv", path, "amount=paid")
