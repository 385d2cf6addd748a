"""The federation's evaluation: counts are summed over partners, per-customer metrics are
averaged (weighted by customers); the summary labels which is which."""

from __future__ import annotations

import pytest
from flwr.app import ConfigRecord, Message, MetricRecord, RecordDict

from coordinator.replies import average_metrics
from tests.deployment.test_resume_and_replies import _metadata


def _evaluated(node_id: int, customers: int, purchases: float, auc: float) -> Message:
    metrics = MetricRecord(
        {
            "num-examples": customers,
            "n-customers": customers,
            "actual-total-purchases": purchases,
            "predicted-total-purchases": purchases / 2,
            "auc-any-repeat": auc,
        }
    )
    content = RecordDict({"metrics": metrics, "partner": ConfigRecord({"name": f"p{node_id}"})})
    reply: Message = Message(content, metadata=_metadata(node_id))  # type: ignore[call-overload]
    return reply


def test_totals_are_summed_and_per_customer_metrics_averaged() -> None:
    replies = [_evaluated(0, 100, 40.0, 0.6), _evaluated(1, 300, 200.0, 0.8)]

    out = average_metrics(replies)

    assert out["n-customers"] == 400
    assert out["num-examples"] == 400
    assert out["actual-total-purchases"] == 240.0
    assert out["predicted-total-purchases"] == 120.0
    assert out["auc-any-repeat"] == pytest.approx((0.6 * 100 + 0.8 * 300) / 400)
