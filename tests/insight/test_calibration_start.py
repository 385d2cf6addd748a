"""Windows cut from a public calibration start: one customer cannot move another's windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insight import FeatureConfig, Periods, prepare_partner
from insight.errors import InsightError
from insight.features import WindowSet, build_training_windows, drop_before
from insight.protocol import collapse_daily

START = pd.Timestamp("2020-01-01")
CAL_END = pd.Timestamp("2020-06-30")
HOLDOUT_END = pd.Timestamp("2020-12-31")
PERIODS = Periods(CAL_END, HOLDOUT_END, START)
CONFIG = FeatureConfig(max_events=6, num_windows=4)

# Days from 2019-10-01 (before the start) to 2020-12-31 (end of the holdout).
_FIRST_DAY = pd.Timestamp("2019-10-01")
_DAYS = (HOLDOUT_END - _FIRST_DAY).days


def _customer(cid: str) -> st.SearchStrategy[list[tuple[str, pd.Timestamp, float]]]:
    event = st.tuples(st.integers(0, _DAYS), st.floats(1.0, 200.0, allow_nan=False))
    return st.lists(event, min_size=1, max_size=8).map(
        lambda evs: [(cid, _FIRST_DAY + pd.Timedelta(days=d), a) for d, a in evs]
    )


@st.composite
def _panel(draw: st.DrawFn) -> tuple[list[tuple[str, pd.Timestamp, float]], str]:
    """Some customers' events and the id of one more customer, whose events are appended."""
    n = draw(st.integers(1, 6))
    rows = [r for i in range(n) for r in draw(_customer(f"c{i}"))]
    extra = [r for r in draw(_customer("zz-extra"))]
    return rows + extra, "zz-extra"


def _frame(rows: list[tuple[str, pd.Timestamp, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [r[1] for r in rows],
            "quantity": [1.0] * len(rows),
            "amount": [r[2] for r in rows],
        }
    )


def _by_customer(ws: WindowSet) -> dict[str, tuple[np.ndarray, ...]]:
    assert ws.count is not None and ws.spend is not None
    return {
        str(cid): (
            ws.seq[i],
            ws.mask[i],
            ws.static[i],
            ws.horizon[i],
            ws.valid[i],
            ws.count[i],
            ws.spend[i],
        )
        for i, cid in enumerate(ws.customer_ids)
    }


def _assert_same_for_others(with_one: WindowSet, without: WindowSet, extra: str) -> None:
    a, b = _by_customer(with_one), _by_customer(without)
    assert set(a) - {extra} == set(b)
    for cid, arrays in b.items():
        for left, right in zip(a[cid], arrays, strict=True):
            np.testing.assert_array_equal(left, right)


@settings(max_examples=60, deadline=None)
@given(_panel())
def test_adding_one_customer_changes_no_other_customers_windows(
    panel: tuple[list[tuple[str, pd.Timestamp, float]], str],
) -> None:
    rows, extra = panel
    events = _frame(rows)
    others = events[events["customer_id"] != extra]
    if not ((others["timestamp"] >= START) & (others["timestamp"] <= CAL_END)).any():
        return  # no other customer in calibration: nothing to compare
    with_one = prepare_partner("p", events, periods=PERIODS, features=CONFIG)
    without = prepare_partner("p", others, periods=PERIODS, features=CONFIG)

    _assert_same_for_others(with_one.train, without.train, extra)
    _assert_same_for_others_forecast(with_one, without, extra)


def _assert_same_for_others_forecast(with_one: object, without: object, extra: str) -> None:
    from insight import PartnerData

    assert isinstance(with_one, PartnerData) and isinstance(without, PartnerData)
    keep = with_one.predict.customer_ids != extra
    np.testing.assert_array_equal(with_one.predict.customer_ids[keep], without.predict.customer_ids)
    np.testing.assert_array_equal(with_one.predict.static[keep], without.predict.static)
    np.testing.assert_array_equal(with_one.predict.seq[keep], without.predict.seq)
    pd.testing.assert_frame_equal(
        with_one.targets.loc[without.targets.index], without.targets, check_exact=True
    )


def test_an_early_customer_moved_everyones_windows_without_a_public_start() -> None:
    """The hole the public start closes: with the span taken from the earliest event, a
    customer bought in 1996 changes the other customers' horizons."""
    base = _frame([("a", pd.Timestamp("2020-02-01"), 10.0), ("a", pd.Timestamp("2020-05-01"), 5.0)])
    early = pd.concat([base, _frame([("b", pd.Timestamp("2019-10-01"), 3.0)])])
    daily_base = collapse_daily(base)
    daily_early = collapse_daily(early)

    moved = build_training_windows(daily_early, calibration_end=CAL_END, config=CONFIG)
    alone = build_training_windows(daily_base, calibration_end=CAL_END, config=CONFIG)
    assert not np.array_equal(moved.horizon[0], alone.horizon[0])

    kept, dropped = drop_before(daily_early, START)
    fixed = build_training_windows(
        kept, calibration_end=CAL_END, config=CONFIG, calibration_start=START
    )
    pinned = build_training_windows(
        daily_base, calibration_end=CAL_END, config=CONFIG, calibration_start=START
    )
    assert dropped == 1
    np.testing.assert_array_equal(fixed.horizon[0], pinned.horizon[0])


def test_events_before_the_start_are_dropped_and_counted() -> None:
    events = _frame(
        [
            ("a", pd.Timestamp("2019-11-05"), 10.0),
            ("a", pd.Timestamp("2019-12-31"), 10.0),
            ("a", pd.Timestamp("2020-03-01"), 20.0),
            ("b", pd.Timestamp("2020-02-01"), 5.0),
        ]
    )
    data = prepare_partner("p", events, periods=PERIODS, features=CONFIG)

    assert data.dropped_before_start == 2
    assert int(data.predict.static[list(data.predict.customer_ids).index("a"), 0, 0]) == 0


def test_feature_building_refuses_events_before_the_start() -> None:
    daily = collapse_daily(_frame([("a", pd.Timestamp("2019-12-01"), 1.0)]))
    with pytest.raises(InsightError, match="before calibration-start"):
        build_training_windows(
            daily, calibration_end=CAL_END, config=CONFIG, calibration_start=START
        )


def test_a_start_after_the_end_of_calibration_is_refused() -> None:
    with pytest.raises(ValueError, match="calibration_start"):
        Periods(CAL_END, HOLDOUT_END, CAL_END)
