"""The one-run audit's ε lower bound (Steinke, Nasr & Jagielski 2023) and the TPR at low FPR."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.canary_audit import (
    epsilon_from_counts,
    epsilon_lower_bound,
    tail_bound,
    tpr_at_fpr,
)
from privacy.errors import PrivacyError


def _randomized_response(eps: float, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Canaries audited through an exactly ε-DP mechanism: each membership bit is released
    flipped with probability 1 / (1 + e^ε), and that release is the score."""
    rng = np.random.default_rng(seed)
    included = rng.random(m) < 0.5
    keep = rng.random(m) < math.exp(eps) / (1 + math.exp(eps))
    scores = np.where(keep == included, 1.0, -1.0)
    return scores, included


def test_all_correct_guesses_give_the_binomial_closed_form() -> None:
    # δ = 0: P[Bin(r, p) >= r] = p^r <= alpha iff p <= alpha^(1/r): ε = logit(alpha^(1/r)).
    p = 0.05 ** (1 / 100)
    expected = math.log(p / (1 - p))
    assert epsilon_from_counts(100, 100, delta=0.0, canaries=1000, alpha=0.05) == pytest.approx(
        expected, abs=1e-9
    )


def test_the_bound_grows_with_correct_guesses() -> None:
    bounds = [
        epsilon_from_counts(v, 200, delta=1e-5, canaries=1000, alpha=0.05)
        for v in range(100, 201, 10)
    ]
    assert bounds[0] == 0.0
    assert all(b2 > b1 for b1, b2 in itertools.pairwise(bounds[1:]))
    assert bounds[-1] > 3.0


def test_delta_only_weakens_the_bound() -> None:
    for v in (130, 170, 200):
        pure = epsilon_from_counts(v, 200, delta=0.0, canaries=1000, alpha=0.05)
        approx = epsilon_from_counts(v, 200, delta=1e-3, canaries=1000, alpha=0.05)
        assert approx < pure


def test_tail_bound_under_pure_dp_is_the_binomial_tail() -> None:
    # ε = 0: W ~ Bin(r, 1/2) at worst; P[Bin(4, 1/2) >= 3] = 5/16.
    assert tail_bound(3, 4, epsilon=0.0, delta=0.0, canaries=10) == pytest.approx(5 / 16)


def test_tail_bound_refuses_impossible_counts() -> None:
    with pytest.raises(PrivacyError, match="correct <= guesses"):
        tail_bound(5, 4, epsilon=1.0, delta=0.0, canaries=10)


def test_random_guesses_give_no_lower_bound() -> None:
    positive = 0
    for seed in range(100):
        rng = np.random.default_rng(seed)
        scores, included = rng.normal(size=1000), rng.random(1000) < 0.5
        positive += epsilon_lower_bound(scores, included, delta=1e-5).epsilon > 0
    # A 95% bound: up to 5 in 100 may exceed 0 by chance (P[more than 10] is about 1%).
    assert positive <= 10


def test_perfect_scores_give_a_large_bound() -> None:
    rng = np.random.default_rng(0)
    included = rng.random(2000) < 0.5
    result = epsilon_lower_bound(included.astype(float), included, delta=1e-5)
    assert result.epsilon > 4.0
    assert result.correct == result.guesses


@settings(max_examples=8, deadline=None, derandomize=True)
@given(eps=st.floats(0.25, 4.0), m=st.integers(200, 2000), base=st.integers(0, 10**6))
def test_an_exactly_eps_dp_mechanism_is_rarely_caught_above_eps(
    eps: float, m: int, base: int
) -> None:
    over = sum(
        # δ = 0: randomized response is pure ε-DP, and δ > 0 would only lower the bound.
        epsilon_lower_bound(*_randomized_response(eps, m, base + i), delta=0.0).epsilon > eps
        for i in range(30)
    )
    assert over <= 5  # each draw exceeds ε with probability <= 5% (P[over > 5] < 1%)


def test_the_audit_detects_randomized_response_at_eps_3() -> None:
    scores, included = _randomized_response(3.0, 2000, seed=1)
    bound = epsilon_lower_bound(scores, included, delta=1e-5).epsilon
    assert 1.0 < bound <= 3.0


def test_tpr_at_low_fpr_needs_enough_non_members() -> None:
    included = np.array([True] * 600 + [False] * 400)
    tpr, why = tpr_at_fpr(included.astype(float), included, fpr=1e-3)
    assert tpr is None
    assert "400 non-member canaries" in why


def test_tpr_at_low_fpr_counts_members_above_the_threshold() -> None:
    # 1000 non-members scoring 0..999: at FPR 0.1% one may exceed the threshold (998).
    outsiders = np.arange(1000, dtype=float)
    members = np.array([997.0, 998.0, 999.0, 2000.0])
    scores = np.concatenate([outsiders, members])
    included = np.concatenate([np.zeros(1000, bool), np.ones(4, bool)])
    tpr, why = tpr_at_fpr(scores, included, fpr=1e-3)
    assert why == ""
    assert tpr == pytest.approx(2 / 4)
