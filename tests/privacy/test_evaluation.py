"""Evaluation as a charged query: bounded per customer, noised, no exact totals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from privacy.evaluation import (
    AUC_BINS,
    PURCHASES_BOUND,
    SENSITIVITY,
    EvaluationQuery,
    evaluation_vector,
    noisy_vector,
    private_evaluation,
)


def _query(n: int, seed: int = 0) -> EvaluationQuery:
    rng = np.random.default_rng(seed)
    any_repeat = rng.random(n) < 0.4
    purchases = np.where(any_repeat, rng.poisson(2.0, n) + 1, 0).astype(float)
    return EvaluationQuery(
        pred_any=np.clip(0.4 + 0.3 * (any_repeat - 0.5) + rng.normal(0, 0.2, n), 0, 1),
        pred_purchases=rng.gamma(1.0, 1.0, n),
        pred_spend=rng.gamma(1.0, 30.0, n),
        actual_purchases=purchases,
        actual_spend=purchases * rng.gamma(2.0, 15.0, n),
        any_repeat=any_repeat,
    )


def _drop(query: EvaluationQuery, i: int) -> EvaluationQuery:
    keep = np.arange(len(query.pred_any)) != i
    return EvaluationQuery(
        *(np.asarray(getattr(query, f))[keep] for f in query.__dataclass_fields__)
    )


def test_a_release_holds_no_totals_only_bounded_means() -> None:
    out = private_evaluation(_query(500), noise_multiplier=20.0, rng=np.random.default_rng(1))
    assert set(out) <= {"n_customers", "auc_any_repeat", "mae_purchases", "mae_spend"}
    assert not any("total" in key for key in out)


def test_one_customer_moves_the_released_vector_by_at_most_the_sensitivity() -> None:
    query = _query(200, seed=3)
    full = evaluation_vector(query)
    worst = max(
        float(np.linalg.norm(full - evaluation_vector(_drop(query, i)))) for i in range(200)
    )
    assert worst <= SENSITIVITY + 1e-12


def test_an_outlier_customer_is_clipped_to_the_bound() -> None:
    query = _query(50)
    query.actual_purchases[0] = 1e6
    vector = evaluation_vector(query)
    assert float(np.linalg.norm(vector - evaluation_vector(_drop(query, 0)))) <= SENSITIVITY
    assert vector[2 * AUC_BINS] <= 50  # every clipped error counts at most 1 (bound units)


def test_the_noise_has_the_stated_scale() -> None:
    query = _query(300)
    exact = evaluation_vector(query)
    rng = np.random.default_rng(7)
    noise = np.concatenate(
        [noisy_vector(query, noise_multiplier=5.0, rng=rng) - exact for _ in range(400)]
    )
    assert float(np.mean(noise)) == pytest.approx(0.0, abs=0.5)
    assert float(np.std(noise)) == pytest.approx(5.0 * SENSITIVITY, rel=0.05)


def test_two_releases_of_the_same_query_differ() -> None:
    query = _query(300)
    first = private_evaluation(query, noise_multiplier=20.0)
    second = private_evaluation(query, noise_multiplier=20.0)
    assert first != second


def test_without_noise_the_binned_figures_match_the_exact_ones() -> None:
    query = _query(1_000, seed=5)
    out = private_evaluation(query, noise_multiplier=None)
    assert out["n_customers"] == 1_000
    clipped = np.minimum(np.abs(query.pred_purchases - query.actual_purchases), PURCHASES_BOUND)
    assert out["mae_purchases"] == pytest.approx(float(clipped.mean()))
    # A binned AUC of a separating score is close to the exact one.
    from insight.metrics import roc_auc

    exact = roc_auc(query.pred_any, query.any_repeat)
    assert math.isclose(out["auc_any_repeat"], exact, abs_tol=0.03)
