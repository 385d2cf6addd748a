"""The federation's evaluation: counts are summed over partners, per-customer metrics are
averaged (weighted by customers); the summary labels which is which."""

from __future__ import annotations

import pytest
from flwr.app import ConfigRecord, Message, MetricRecord, RecordDict

from coordinator.replies import average_metrics
from tests.flower_replies import reply_metadata


def _evaluated(node_id: int, customers: int, mae: float, auc: float) -> Message:
    metrics = MetricRecord(
        {
            "num-examples": customers,
            "n-customers": customers,
            "mae-purchases": mae,
            "auc-any-repeat": auc,
        }
    )
    content = RecordDict({"metrics": metrics, "partner": ConfigRecord({"name": f"p{node_id}"})})
    reply: Message = Message(content, metadata=reply_metadata(node_id))  # type: ignore[call-overload]
    return reply


def test_counts_are_summed_and_per_customer_metrics_averaged() -> None:
    replies = [_evaluated(0, 100, 1.0, 0.6), _evaluated(1, 300, 2.0, 0.8)]

    out = average_metrics(replies)

    assert out["n-customers"] == 400
    assert out["num-examples"] == 400
    assert out["mae-purchases"] == pytest.approx((1.0 * 100 + 2.0 * 300) / 400)
    assert out["auc-any-repeat"] == pytest.approx((0.6 * 100 + 0.8 * 300) / 400)
