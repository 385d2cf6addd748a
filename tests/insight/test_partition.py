"""Splitting customers into simulated partners."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from insight.errors import InsightError
from insight.partition import partition_customers

CAL_END = pd.Timestamp("2020-06-30")


def _events(n: int, countries: list[str] | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    ids = [f"c{i}" for i in range(n) for _ in range(2)]
    return pd.DataFrame(
        {
            "customer_id": ids,
            "timestamp": pd.Timestamp("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 170, len(ids)), unit="D"),
            "quantity": 1.0,
            "amount": 1.0,
            "Country": [countries[i // 2 % len(countries)] for i in range(len(ids))]
            if countries
            else "X",
        }
    )


@pytest.mark.parametrize("split", ["iid", "dirichlet:0.5", "dirichlet:100"])
def test_every_customer_lands_at_exactly_one_partner(split: str) -> None:
    part = partition_customers(
        _events(400), split, num_partners=4, seed=1, calibration_end=CAL_END, min_customers=1
    )
    ids = np.concatenate(list(part.partners.values()))
    assert len(ids) == len(set(ids)) == 400


def test_the_split_is_deterministic_in_the_seed() -> None:
    a = partition_customers(
        _events(300),
        "dirichlet:1.0",
        num_partners=3,
        seed=7,
        calibration_end=CAL_END,
        min_customers=1,
    )
    b = partition_customers(
        _events(300),
        "dirichlet:1.0",
        num_partners=3,
        seed=7,
        calibration_end=CAL_END,
        min_customers=1,
    )
    assert a.partners.keys() == b.partners.keys()
    for k in a.partners:
        np.testing.assert_array_equal(a.partners[k], b.partners[k])


def test_a_small_partner_is_reported_and_left_out() -> None:
    part = partition_customers(
        _events(100), "iid", num_partners=3, seed=0, calibration_end=CAL_END, min_customers=34
    )
    assert [len(v) for v in part.partners.values()] == [34]
    assert part.left_out == {"partner-1": 33, "partner-2": 33}


def test_column_split_gives_one_partner_per_value() -> None:
    part = partition_customers(
        _events(90, ["DE", "FR", "UK"]),
        "column:Country",
        num_partners=5,
        seed=0,
        calibration_end=CAL_END,
        min_customers=1,
    )
    assert sorted(part.partners) == ["DE", "FR", "UK"]


def test_column_split_names_are_safe_as_key_and_folder_names() -> None:
    """Online Retail's Country has "United Kingdom": a space is not allowed in a witness-key
    name, and a '/' would be a path. Names stay distinct when two values slug alike."""
    from audit import check_key_name

    part = partition_customers(
        _events(120, ["United Kingdom", "United-Kingdom", "A/B", "ü"]),
        "column:Country",
        num_partners=5,
        seed=0,
        calibration_end=CAL_END,
        min_customers=1,
    )
    names = sorted(part.partners)
    assert len(names) == 4
    assert "A-B" in names
    assert sum(n.startswith("United-Kingdom-") for n in names) == 2
    assert any(n.startswith("value-") for n in names)
    for name in names:
        assert check_key_name(name) == name
        assert re.fullmatch(r"[A-Za-z0-9._-]+", name)
    assert sum(len(v) for v in part.partners.values()) == 120


def test_column_split_names_a_missing_column() -> None:
    with pytest.raises(InsightError, match="no column 'Region'"):
        partition_customers(
            _events(10), "column:Region", num_partners=2, seed=0, calibration_end=CAL_END
        )


def test_unknown_split_is_a_clear_error() -> None:
    with pytest.raises(InsightError, match="unknown split"):
        partition_customers(_events(10), "random", num_partners=2, seed=0, calibration_end=CAL_END)
