from __future__ import annotations

import numpy as np
import pytest

from insight.baselines import naive_rate


def test_naive_rate_carries_the_calibration_rate_forward() -> None:
    np.testing.assert_allclose(naive_rate([2, 0, 6], [10.0, 5.0, 39.0], 39.0), [7.8, 0.0, 6.0])


def test_naive_rate_is_zero_without_observation_time() -> None:
    assert naive_rate(0, 0.0, 39.0) == 0.0


def test_naive_rate_rejects_negative_inputs() -> None:
    with pytest.raises(ValueError):
        naive_rate(-1, 1.0, 1.0)
