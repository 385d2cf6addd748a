from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from insight.metrics import by_frequency_bucket, evaluate, roc_auc


def test_auc_of_a_perfect_and_a_reversed_ranking() -> None:
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert roc_auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0


def test_auc_counts_pairs() -> None:
    # Positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of 4 pairs ordered right.
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75


def test_auc_counts_a_tie_as_half() -> None:
    # Pairs (pos, neg): (1, 1) tie = 0.5, (1, 2) = 0, (3, 1) = 1, (3, 2) = 1 -> 2.5 / 4.
    assert roc_auc([1, 1, 2, 3], [0, 1, 0, 1]) == 0.625
    assert roc_auc([5, 5, 5], [0, 1, 1]) == 0.5


def test_auc_of_one_class_is_nan() -> None:
    assert math.isnan(roc_auc([0.1, 0.2], [1, 1]))


def _actual() -> pd.DataFrame:
    return pd.DataFrame(
        {"purchases": [0, 1, 3], "spend": [0.0, 10.0, 30.0], "any_repeat": [False, True, True]},
        index=pd.Index(["a", "b", "c"], name="customer_id"),
    )


def test_evaluate_on_a_hand_computed_case() -> None:
    metrics = evaluate(
        pred_any=[0.2, 0.6, 0.5],
        pred_purchases=[0.0, 1.0, 2.0],
        pred_spend=[1.0, 10.0, 20.0],
        actual=_actual(),
    )

    # corr: cov = 3, var(pred) = 2, var(actual) = 42 / 9 (sums of squares about the means).
    assert metrics["auc_any_repeat"] == 1.0
    assert metrics["corr_purchases"] == pytest.approx(3 / np.sqrt(2 * 42 / 9))
    assert metrics["mae_purchases"] == pytest.approx(1 / 3)
    assert metrics["mae_spend"] == pytest.approx(11 / 3)
    assert metrics["predicted_total_purchases"] == 3.0
    assert metrics["actual_total_purchases"] == 4.0
    assert metrics["n_customers"] == 3


def test_evaluate_aligns_series_by_customer() -> None:
    shuffled = pd.Series([2.0, 0.0, 1.0], index=["c", "a", "b"])

    by_index = evaluate(shuffled, shuffled, shuffled, _actual())
    in_order = evaluate([0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [0.0, 1.0, 2.0], _actual())

    assert by_index == in_order


def test_evaluate_rejects_missing_customers() -> None:
    with pytest.raises(ValueError, match="lacks predictions"):
        evaluate(pd.Series([1.0], index=["a"]), [0, 0, 0], [0, 0, 0], _actual())


def test_by_frequency_bucket_groups_heavy_buyers() -> None:
    table = by_frequency_bucket(
        pred=[0.1, 0.3, 1.0, 8.0, 9.0], actual=[0, 1, 2, 7, 11], x=[0, 0, 1, 7, 12]
    )

    assert table.index.tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table.loc["0"].to_numpy(dtype=float) == pytest.approx([2, 0.2, 0.5])
    assert table.loc["7+"].to_numpy(dtype=float) == pytest.approx([2, 8.5, 9.0])
    assert table.loc["3", "n_customers"] == 0
    assert np.isnan(table["predicted"].to_numpy()[3])
