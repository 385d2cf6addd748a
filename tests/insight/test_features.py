"""Sequence features: shapes, windows inside calibration, labels from the right days."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insight.errors import InsightError
from insight.features import (
    STATIC_FEATURES,
    STEP_FEATURES,
    FeatureConfig,
    build_prediction_windows,
    build_training_windows,
    training_cutoffs,
)

CAL_END = pd.Timestamp("2020-06-30")


def _events(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": pd.to_datetime([r[1] for r in rows]),
            "quantity": [1.0] * len(rows),
            "amount": [r[2] for r in rows],
        }
    )


def test_training_windows_have_the_documented_shapes() -> None:
    ev = _events([("a", "2020-01-01", 10), ("a", "2020-03-01", 20), ("b", "2020-02-01", 5)])
    cfg = FeatureConfig(max_events=4, num_windows=3)
    ws = build_training_windows(ev, calibration_end=CAL_END, config=cfg)
    assert ws.seq.shape == (2, 3, 4, len(STEP_FEATURES))
    assert ws.static.shape == (2, 3, len(STATIC_FEATURES))
    assert ws.mask.shape == ws.seq.shape[:3]
    assert ws.count is not None and ws.count.shape == (2, 3)


def test_every_training_window_ends_by_the_end_of_calibration() -> None:
    start = pd.Timestamp("2020-01-01")
    for cutoff, horizon in training_cutoffs(CAL_END, start, FeatureConfig(num_windows=5)):
        assert cutoff + pd.Timedelta(days=round(horizon * 7)) <= CAL_END
        assert cutoff > start


def test_labels_count_the_purchase_days_after_the_cutoff() -> None:
    ev = _events([("a", "2020-01-01", 10), ("a", "2020-05-01", 20), ("a", "2020-06-20", 7)])
    cfg = FeatureConfig(
        max_events=8, num_windows=1, min_horizon_fraction=0.5, max_horizon_fraction=0.5
    )
    ws = build_training_windows(ev, calibration_end=CAL_END, config=cfg)
    cutoff, _ = training_cutoffs(CAL_END, pd.Timestamp("2020-01-01"), cfg)[0]
    expected = int(((ev["timestamp"] > cutoff) & (ev["timestamp"] <= CAL_END)).sum())
    assert ws.count is not None and ws.spend is not None
    assert ws.count[0, 0] == expected
    assert ws.spend[0, 0] == pytest.approx(
        ev.loc[(ev["timestamp"] > cutoff) & (ev["timestamp"] <= CAL_END), "amount"].sum()
    )


def test_a_customer_who_had_not_bought_by_a_cutoff_has_no_window_there() -> None:
    ev = _events([("a", "2020-01-01", 10), ("late", "2020-06-01", 3)])
    ws = build_training_windows(ev, calibration_end=CAL_END, config=FeatureConfig(num_windows=3))
    late = list(ws.customer_ids).index("late")
    assert not ws.valid[late].any()
    assert ws.trainable().num_customers == 1


def test_events_after_calibration_are_refused() -> None:
    ev = _events([("a", "2020-01-01", 10), ("a", "2020-07-05", 10)])
    with pytest.raises(InsightError, match="after the end of calibration"):
        build_training_windows(ev, calibration_end=CAL_END, config=FeatureConfig())


def test_prediction_window_uses_the_requested_horizon() -> None:
    ev = _events([("a", "2020-01-01", 10)])
    ws = build_prediction_windows(
        ev, calibration_end=CAL_END, horizon_weeks=39.0, config=FeatureConfig()
    )
    assert ws.count is None
    assert ws.horizon[0, 0] == pytest.approx(39.0)


@settings(max_examples=30, deadline=None)
@given(
    days=st.lists(st.integers(min_value=0, max_value=180), min_size=1, max_size=12),
    later=st.lists(st.integers(min_value=1, max_value=300), min_size=0, max_size=8),
)
def test_adding_events_after_calibration_changes_no_feature_or_label(
    days: list[int], later: list[int]
) -> None:
    """No leakage: windows built from truncated events ignore whatever happens afterwards."""
    from insight.protocol import truncate_events

    base = pd.Timestamp("2020-01-01")
    cal = [("c", str((base + pd.Timedelta(days=d)).date()), 5.0) for d in days]
    after = [("c", str((CAL_END + pd.Timedelta(days=d)).date()), 99.0) for d in later]
    cfg = FeatureConfig(max_events=8, num_windows=3)
    a = build_training_windows(
        truncate_events(_events(cal), CAL_END),
        calibration_end=CAL_END,
        config=cfg,
        calibration_start=base,
    )
    b = build_training_windows(
        truncate_events(_events(cal + after), CAL_END),
        calibration_end=CAL_END,
        config=cfg,
        calibration_start=base,
    )
    np.testing.assert_array_equal(a.seq, b.seq)
    np.testing.assert_array_equal(a.static, b.static)
    assert a.count is not None and b.count is not None
    np.testing.assert_array_equal(a.count, b.count)
