"""The wire's names are a format shared with every node and run already made: pinned here."""

from __future__ import annotations

from federation import Action, Metric, NodeConfig, Partner, Progress, Query, Record, Status


def test_record_names() -> None:
    assert (Record.ARRAYS, Record.CONFIG, Record.METRICS, Record.PARTNER) == (
        "arrays",
        "config",
        "metrics",
        "partner",
    )


def test_query_keys_and_actions() -> None:
    assert (Query.ACTION, Query.ORIGIN, Query.CHECKPOINT, Query.PROOF) == (
        "action",
        "origin",
        "checkpoint",
        "proof",
    )
    assert Query.COORDINATOR_VKEY == "coordinator-vkey"
    assert (Action.HELLO, Action.COSIGN) == ("hello", "cosign")


def test_partner_keys_and_statuses() -> None:
    assert (Partner.WITNESS_VKEY, Partner.WITNESS_SIZE) == ("witness-vkey", "witness-size")
    assert (Partner.COSIGNATURE, Partner.REFUSAL, Partner.COMMITMENT) == (
        "cosignature",
        "refusal",
        "commitment",
    )
    assert (Status.TRAINED, Status.REFUSED, Status.ERROR) == ("trained", "refused", "error")


def test_metric_keys() -> None:
    assert (Metric.EPSILON_SPENT, Metric.EPSILON_CUMULATIVE, Metric.EPSILON_BUDGET) == (
        "epsilon-spent",
        "epsilon-cumulative",
        "epsilon-budget",
    )
    assert (Metric.NUM_EXAMPLES, Metric.UNIT_WEIGHT) == ("num-examples", "unit-weight")


def test_node_config_and_progress_names() -> None:
    assert (NodeConfig.PARTNER_NAME, NodeConfig.REQUIRE_APPROVAL) == (
        "partner-name",
        "require-approval",
    )
    assert (Progress.EVENT, Progress.ROUND, Progress.END) == ("event", "round", "end")
