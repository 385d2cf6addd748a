"""Canary customers of the privacy audit: seeded, unique, two versions differing only in label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insight import CustomerSequenceModel, default_periods, prepare_partner
from insight.features import FeatureConfig
from insight.protocol import Periods
from privacy.canaries import canary_scores, make_canaries
from privacy.errors import PrivacyError

PERIODS = default_periods("cdnow")
FEATURES = FeatureConfig()


def test_canaries_are_seeded_and_each_one_its_own() -> None:
    a = make_canaries(60, periods=PERIODS, features=FEATURES, seed=5)
    b = make_canaries(60, periods=PERIODS, features=FEATURES, seed=5)
    pd.testing.assert_frame_equal(a.events, b.events)
    assert np.array_equal(a.included, b.included)
    assert len(set(a.customer_ids.tolist())) == 60
    first = a.events.groupby("customer_id")["amount"].first()
    assert first.nunique() == 60  # no two canaries open with the same purchase
    assert first.min() > 100  # far above a retail customer's typical purchase


def test_both_versions_share_inputs_and_differ_in_label() -> None:
    c = make_canaries(40, periods=PERIODS, features=FEATURES, seed=1)
    own = prepare_partner("own", c.events, periods=PERIODS, features=FEATURES).train
    other = prepare_partner("other", c.other, periods=PERIODS, features=FEATURES).train
    assert own.num_customers == other.num_customers == 40  # every window valid
    assert np.array_equal(own.seq, other.seq) and np.array_equal(own.static, other.static)
    assert own.count is not None and other.count is not None
    loud = c.loud[np.argsort(c.customer_ids)]
    assert (own.count[loud] > 0).all() and (own.count[~loud] == 0).all()
    assert (other.count[~loud] > 0).all() and (other.count[loud] == 0).all()


def test_scores_are_finite_and_in_canary_order() -> None:
    c = make_canaries(30, periods=PERIODS, features=FEATURES, seed=2)
    scores = canary_scores(CustomerSequenceModel(), c, periods=PERIODS, features=FEATURES)
    assert scores.shape == (30,)
    assert np.isfinite(scores).all()


def test_canaries_need_a_public_calibration_start() -> None:
    open_start = Periods(calibration_end=PERIODS.calibration_end, holdout_end=PERIODS.holdout_end)
    with pytest.raises(PrivacyError, match="calibration-start"):
        make_canaries(10, periods=open_start, features=FEATURES, seed=0)
