from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insight.datasets import load_cdnow_sample
from insight.protocol import (
    Periods,
    calibration_summary,
    collapse_daily,
    holdout_targets,
    holdout_weeks,
    truncate_events,
)

PERIODS = Periods(pd.Timestamp("2020-03-31"), pd.Timestamp("2020-06-30"))
DAY0 = pd.Timestamp("2020-01-01")


def _events(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype="str"),
            "timestamp": pd.to_datetime([r[1] for r in rows], format="ISO8601").astype(
                "datetime64[ns]"
            ),
            "quantity": np.ones(len(rows)),
            "amount": [r[2] for r in rows],
        }
    )


HAND = _events(
    [
        ("a", "2020-01-01 09:00", 10.0),
        ("a", "2020-01-01 17:00", 5.0),  # same day: one purchase occasion
        ("a", "2020-01-08", 20.0),
        ("a", "2020-01-15", 30.0),
        ("a", "2020-04-01", 7.0),  # first holdout day
        ("a", "2020-04-01", 1.0),
        ("a", "2020-07-01", 99.0),  # after the holdout
        ("b", "2020-03-31 23:59", 4.0),  # last calibration day, late
        ("c", "2020-04-02", 3.0),  # first seen in the holdout: not in the cohort
    ]
)


def test_periods_normalise_to_days_and_order() -> None:
    periods = Periods(pd.Timestamp("2020-03-31 15:00"), pd.Timestamp("2020-06-30"))

    assert periods.calibration_end == pd.Timestamp("2020-03-31")
    with pytest.raises(ValueError):
        Periods(pd.Timestamp("2020-03-31"), pd.Timestamp("2020-03-31"))


def test_truncate_keeps_the_whole_end_day() -> None:
    kept = truncate_events(HAND, pd.Timestamp("2020-03-31"))

    assert kept["timestamp"].max() == pd.Timestamp("2020-03-31 23:59")
    assert len(kept) == 5


def test_collapse_daily_sums_each_customer_day() -> None:
    daily = collapse_daily(HAND)

    first = daily.iloc[0]
    assert (first["customer_id"], first["timestamp"], first["amount"]) == (
        "a",
        pd.Timestamp("2020-01-01"),
        15.0,
    )
    assert len(daily) == 7


def test_calibration_summary_by_hand() -> None:
    summary = calibration_summary(HAND, PERIODS)

    assert summary.index.tolist() == ["a", "b"]
    a, b = summary.loc["a"], summary.loc["b"]
    assert a["x"] == 2
    assert a["t_x"] == pytest.approx(2.0)
    assert a["T"] == pytest.approx(90 / 7)
    assert a["monetary"] == pytest.approx((15 + 20 + 30) / 3)
    assert a["first_purchase"] == pd.Timestamp("2020-01-01")
    assert (b["x"], b["t_x"], b["T"], b["monetary"]) == (0, 0.0, 0.0, 4.0)


def test_holdout_targets_by_hand() -> None:
    targets = holdout_targets(HAND, PERIODS)

    assert targets.index.tolist() == ["a", "b"]
    assert targets["purchases"].tolist() == [1, 0]
    assert targets["spend"].tolist() == [8.0, 0.0]
    assert targets["any_repeat"].tolist() == [True, False]


def test_holdout_weeks_counts_whole_days(cdnow_periods: Periods) -> None:
    assert holdout_weeks(cdnow_periods) == 39.0


def test_cdnow_sample_matches_the_published_summary(
    cdnow_sample_path: Path, cdnow_periods: Periods
) -> None:
    events = load_cdnow_sample(cdnow_sample_path).events

    summary = calibration_summary(events, cdnow_periods)

    # Fader & Hardie's published x, t_x, T (two decimals) for the 1/10 sample.
    published = {
        "0001": (2, 30.43, 38.86),
        "0002": (1, 1.71, 38.86),
        "0006": (7, 29.43, 38.86),
        "0157": (29, 37.71, 38.00),
        "0325": (25, 27.29, 36.86),
        "0584": (1, 35.43, 35.43),
    }
    for customer, (x, t_x, T) in published.items():
        row = summary.loc[customer]
        assert (row["x"], round(row["t_x"], 2), round(row["T"], 2)) == (x, t_x, T)
    assert len(summary) == 2_357
    assert summary["x"].sum() == 2_457
    assert summary["T"].min() == pytest.approx(27.0)


def test_holdout_targets_share_the_summary_index(
    cdnow_sample_path: Path, cdnow_periods: Periods
) -> None:
    events = load_cdnow_sample(cdnow_sample_path).events
    periods = cdnow_periods

    targets = holdout_targets(events, periods)

    assert targets.index.equals(calibration_summary(events, periods).index)
    assert targets["purchases"].sum() == 1_882


# --- no leakage: nothing derived from calibration depends on holdout events -----------------

# Everything that takes events and periods and is meant to see calibration data only.
CALIBRATION_VIEWS: dict[str, Callable[[pd.DataFrame, Periods], pd.DataFrame]] = {
    "calibration_summary": calibration_summary,
    "truncate_events": lambda events, periods: truncate_events(
        events, periods.calibration_end
    ).sort_values(["customer_id", "timestamp", "amount"], ignore_index=True),
    "cohort": lambda events, periods: holdout_targets(events, periods).index.to_frame(),
}

_event_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(min_value=0, max_value=200),  # day offset; calibration ends at 90
        st.floats(min_value=0, max_value=1e4, allow_nan=False),
    ),
    min_size=1,
    max_size=30,
)


def _frame(rows: list[tuple[str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype="str"),
            "timestamp": pd.Series(
                [DAY0 + pd.Timedelta(days=r[1], hours=r[1] % 24) for r in rows],
                dtype="datetime64[ns]",
            ),
            "quantity": np.ones(len(rows)),
            "amount": [r[2] for r in rows],
        }
    )


@settings(max_examples=60, deadline=None)
@given(
    rows=_event_rows,
    added=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "e"]),  # "e" is new: first seen in the holdout
            st.integers(min_value=91, max_value=400),
            st.floats(min_value=0, max_value=1e4, allow_nan=False),
        ),
        max_size=10,
    ),
    keep_seed=st.integers(min_value=0, max_value=2**32 - 1),
    new_amount=st.floats(min_value=0, max_value=1e4, allow_nan=False),
)
def test_holdout_changes_do_not_leak_into_calibration(
    rows: list[tuple[str, int, float]],
    added: list[tuple[str, int, float]],
    keep_seed: int,
    new_amount: float,
) -> None:
    periods = Periods(DAY0 + pd.Timedelta(days=90), DAY0 + pd.Timedelta(days=300))
    original = _frame(rows)
    in_holdout = [r for r in rows if r[1] > 90]
    in_calibration = [r for r in rows if r[1] <= 90]
    keep = np.random.default_rng(keep_seed).random(len(in_holdout)) < 0.5
    altered_holdout = [
        (c, d, new_amount) for (c, d, _), k in zip(in_holdout, keep, strict=True) if k
    ]
    # Holdout rows first: row order must not matter either.
    altered = _frame(altered_holdout + added + in_calibration)

    for name, view in CALIBRATION_VIEWS.items():
        pd.testing.assert_frame_equal(view(original, periods), view(altered, periods), obj=name)
