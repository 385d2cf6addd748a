"""The score table: the model's own forecasts, an interval around them, chunking invisible."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from insight import (
    CustomerSequenceModel,
    FeatureConfig,
    InsightError,
    Periods,
    load_cdnow,
    predict,
    prepare_partner,
)
from insight.scoring import ScoreOptions, score_customers

PERIODS = Periods(pd.Timestamp("1997-09-30"), pd.Timestamp("1998-06-30"))


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    ev = load_cdnow().events
    keep = sorted(ev["customer_id"].unique())[:300]
    return ev[ev["customer_id"].isin(keep)].reset_index(drop=True)


def _model() -> CustomerSequenceModel:
    torch.manual_seed(3)
    return CustomerSequenceModel()


def _options(**changes: object) -> ScoreOptions:
    base = ScoreOptions(as_of=PERIODS.calibration_end, horizon_weeks=39.0, explain=False)
    return ScoreOptions(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_scores_are_the_models_own_forecasts_as_evaluation_makes_them(
    events: pd.DataFrame,
) -> None:
    model = _model()
    data = prepare_partner("p", events, periods=PERIODS, features=FeatureConfig())
    pred = predict(model, data.predict)
    table = score_customers(model, events, _options()).table
    assert table["customer_id"].tolist() == pred.customer_ids.tolist()
    np.testing.assert_allclose(table["p_purchase"], pred.prob_any, rtol=1e-6)
    np.testing.assert_allclose(table["expected_purchases"], pred.expected_purchases, rtol=1e-6)
    np.testing.assert_allclose(table["expected_spend"], pred.expected_spend, rtol=1e-5)


def test_events_after_the_as_of_date_change_nothing(events: pd.DataFrame) -> None:
    model = _model()
    before = events[events["timestamp"] <= PERIODS.calibration_end]
    a = score_customers(model, events, _options()).table
    b = score_customers(model, before, _options()).table
    pd.testing.assert_frame_equal(a, b)


def test_scoring_in_chunks_gives_the_same_table(events: pd.DataFrame) -> None:
    model = _model()
    whole = score_customers(model, events, _options(explain=True))
    pieces = score_customers(model, events, _options(explain=True, chunk_customers=70))
    pd.testing.assert_frame_equal(whole.table, pieces.table)
    assert whole.importance == pytest.approx(pieces.importance)


def test_value_columns_need_amounts_and_discounting_lowers_value(events: pd.DataFrame) -> None:
    model = _model()
    visits = score_customers(model, events, _options(has_amounts=False))
    assert not {"expected_spend", "clv", "clv_p10", "clv_p90"} & set(visits.table.columns)
    assert any("no amounts" in n for n in visits.notes)
    undiscounted = score_customers(model, events, _options(discount_rate=0.0)).table
    discounted = score_customers(model, events, _options(discount_rate=0.25)).table
    np.testing.assert_allclose(undiscounted["clv"], undiscounted["expected_spend"], rtol=1e-6)
    assert (discounted["clv"] < undiscounted["clv"]).all()


def test_nothing_to_score_is_a_clear_error(events: pd.DataFrame) -> None:
    with pytest.raises(InsightError, match="no events on or before the as-of date 1990-01-01"):
        score_customers(_model(), events, _options(as_of=pd.Timestamp("1990-01-01")))
    with pytest.raises(InsightError, match="horizon must be positive"):
        score_customers(_model(), events, _options(horizon_weeks=0.0))
