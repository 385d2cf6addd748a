"""RFM segments and churn risk follow their documented rules."""

from __future__ import annotations

import numpy as np

from insight.scoring.segments import churn_risk, quintile_scores, rfm_segments


def test_quintile_scores_rank_within_the_customers_and_share_ties() -> None:
    scores = quintile_scores([1, 1, 1, 1, 1, 2, 3, 4, 5, 6], higher_is_better=True)
    assert len(set(scores[:5].tolist())) == 1
    assert scores[-1] == 5 and scores[0] < scores[-1]


def test_each_segment_follows_its_rule() -> None:
    # recency (weeks, fewer is better), purchase days, tenure (weeks)
    recency = np.array([1, 2, 40, 45, 3, 50, 20, 4, 35, 2], dtype=float)
    days = np.array([20, 15, 18, 1, 1, 2, 8, 9, 12, 1], dtype=float)
    tenure = np.array([60, 60, 60, 60, 60, 60, 60, 60, 60, 5], dtype=float)
    seg = rfm_segments(recency_weeks=recency, purchase_days=days, tenure_weeks=tenure)
    assert seg[0] == "champions"  # most recent, most frequent
    assert seg[2] == "at risk"  # bought often, long ago
    assert seg[3] == "hibernating"  # once, long ago
    assert seg[4] == "promising"  # recent, once
    assert seg[9] == "new"  # first purchase 5 weeks ago


def test_churn_risk_reads_the_thresholds_on_p_alive() -> None:
    risk = churn_risk([0.1, 0.39, 0.4, 0.69, 0.7, 0.99])
    assert risk.tolist() == ["high", "high", "medium", "medium", "low", "low"]
