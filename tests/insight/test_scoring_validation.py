"""The partner's check of its forecasts: decile calibration, gain curve, Gini, the window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from insight import CustomerSequenceModel, FeatureConfig, load_cdnow
from insight.scoring import (
    ScoreOptions,
    customer_history,
    decile_calibration,
    gain_curve,
    normalized_gini,
    score_customers,
    validation_window,
)


def test_deciles_hold_a_tenth_each_even_when_every_prediction_ties() -> None:
    table = decile_calibration(np.zeros(100), np.arange(100.0))

    assert table.index.tolist() == list(range(1, 11))
    assert table["customers"].tolist() == [10] * 10
    assert table["predicted"].eq(0).all()


def test_deciles_are_ordered_by_prediction_and_average_the_actuals() -> None:
    predicted = np.arange(20.0)
    actual = 2 * predicted

    table = decile_calibration(predicted[::-1], actual[::-1])

    assert table.loc[1, "predicted"] == 0.5 and table.loc[1, "actual"] == 1.0
    assert table.loc[10, "predicted"] == 18.5 and table.loc[10, "actual"] == 37.0


def test_gain_curve_runs_from_nothing_to_everything() -> None:
    xs, ys = gain_curve([0.9, 0.1, 0.5], [2.0, 0.0, 1.0])

    assert xs.tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert ys.tolist() == pytest.approx([0, 2 / 3, 1, 1])


def test_normalised_gini_is_one_for_the_perfect_order_and_negative_for_the_reverse() -> None:
    actual = np.array([0.0, 0, 0, 1, 2, 5])

    assert normalized_gini(actual, actual) == pytest.approx(1.0)
    assert normalized_gini(-actual, actual) < -0.5
    rng = np.random.default_rng(0)
    big = rng.poisson(1.0, 20_000).astype(float)
    assert abs(normalized_gini(rng.random(big.size), big)) < 0.03


def test_a_gain_curve_needs_a_purchase() -> None:
    with pytest.raises(ValueError, match="at least one actual purchase"):
        gain_curve([0.1, 0.2], [0.0, 0.0])


def _events() -> pd.DataFrame:
    events = load_cdnow().events
    keep = sorted(events["customer_id"].unique())[:150]
    return events[events["customer_id"].isin(keep)]


def _score(events: pd.DataFrame, as_of: str) -> tuple[CustomerSequenceModel, ScoreOptions]:
    torch.manual_seed(0)
    options = ScoreOptions(
        as_of=pd.Timestamp(as_of), horizon_weeks=39.0, features=FeatureConfig(), explain=False
    )
    return CustomerSequenceModel(), options


def test_with_the_future_in_the_events_the_table_itself_is_checked_forward() -> None:
    events = _events()
    model, options = _score(events, "1997-09-30")
    table = score_customers(model, events, options).table

    window = validation_window(model, events, options, table)

    assert window is not None and window.forward
    assert window.start == pd.Timestamp("1997-09-30")
    assert window.end == pd.Timestamp("1997-09-30") + pd.Timedelta(days=273)
    assert window.predicted.tolist() == table["expected_purchases"].tolist()
    after = events[events["timestamp"] > pd.Timestamp("1997-09-30")]
    assert window.actual.sum() == len(after[["customer_id", "timestamp"]].drop_duplicates())


def test_without_the_future_the_customers_are_scored_again_one_horizon_back() -> None:
    events = _events()
    model, options = _score(events, "1998-06-30")
    table = score_customers(model, events, options).table

    window = validation_window(model, events, options, table)

    assert window is not None and not window.forward
    assert window.end == pd.Timestamp("1998-06-30")
    assert window.start == pd.Timestamp("1998-06-30") - pd.Timedelta(days=273)
    first_day = events.groupby("customer_id")["timestamp"].min()
    assert window.actual.size == int((first_day <= window.start).sum())


def test_history_counts_purchase_days_and_weeks_since_the_last() -> None:
    events = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "timestamp": pd.to_datetime(["1997-01-01", "1997-01-01", "1997-01-15", "1997-01-29"]),
            "quantity": [1, 1, 1, 1],
            "amount": [10.0, 5.0, 1.0, 2.0],
        }
    )

    history = customer_history(events, pd.Timestamp("1997-01-29"))

    assert history.loc["a"].tolist() == [2.0, 2, 16.0]
    assert history.loc["b"].tolist() == [0.0, 1, 2.0]
