"""The partner's privacy rules around a round: its own δ, no DP-less release under a budget, and
evaluation as a charged query (issue 13)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from client_node.node_settings import NodeSettings
from client_node.node_state import NodeState
from client_node.task import evaluate_round, train_round
from federation import RunSettings, Status
from insight import CustomerSequenceModel, FeatureConfig, PartnerData, load_dataset, prepare_partner
from privacy import PrivacyLedger

SETTINGS = RunSettings(num_server_rounds=2, local_epochs=1, batch_size=64, max_events=8)
BUDGET = NodeSettings(epsilon_budget=3.0)
NO_BUDGET = NodeSettings(epsilon_budget=math.inf)


@pytest.fixture(scope="module")
def data() -> PartnerData:
    """300 CDNOW customers (the bundled file), prepared as a partner prepares them."""
    events = load_dataset("cdnow").events
    ids = sorted(events["customer_id"].unique())[:300]
    mine = events[events["customer_id"].isin(ids)]
    return prepare_partner(
        "p0",
        mine,
        periods=SETTINGS.periods(),
        features=FeatureConfig(max_events=8, num_windows=SETTINGS.num_windows),
    )


def _model() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return CustomerSequenceModel().state_dict()


def _state(tmp_path: Path) -> NodeState:
    return NodeState(tmp_path / "node").ensure()


def _train(data: PartnerData, settings: RunSettings, node: NodeSettings, state: NodeState) -> str:
    outcome = train_round(_model(), data, settings, node, state, run_id="r1", server_round=1)
    return outcome.reason if outcome.status == Status.REFUSED else outcome.status


def test_a_run_asking_for_delta_0_05_is_refused_and_nothing_is_spent(
    data: PartnerData, tmp_path: Path
) -> None:
    state = _state(tmp_path)
    settings = RunSettings(**{**SETTINGS.__dict__, "target_delta": 0.05})

    reason = _train(data, settings, BUDGET, state)

    assert reason.startswith("refused:") and "target-delta 0.05" in reason
    assert PrivacyLedger(state.ledger_path).entries() == []


def test_after_training_at_its_delta_the_partner_refuses_a_refund_at_a_larger_one(
    data: PartnerData, tmp_path: Path
) -> None:
    state = _state(tmp_path)
    assert _train(data, SETTINGS, BUDGET, state) == Status.TRAINED
    spent = PrivacyLedger(state.ledger_path).entries()

    larger = RunSettings(**{**SETTINGS.__dict__, "target_delta": 1e-4})
    reason = _train(data, larger, BUDGET, state)

    assert "fixed at 1e-05" in reason
    assert PrivacyLedger(state.ledger_path).entries() == spent


def test_a_budgeted_partner_refuses_a_run_without_dp(data: PartnerData, tmp_path: Path) -> None:
    state = _state(tmp_path)
    no_dp = RunSettings(**{**SETTINGS.__dict__, "dp": False})

    train_reason = _train(data, no_dp, BUDGET, state)
    evaluation = evaluate_round(_model(), data, no_dp, BUDGET, state, run_id="r1", server_round=1)

    assert "dp = false" in train_reason and "budget of 3" in train_reason
    assert evaluation.status == Status.REFUSED and "dp = false" in evaluation.reason


def test_a_partner_without_a_budget_trains_without_dp(data: PartnerData, tmp_path: Path) -> None:
    no_dp = RunSettings(**{**SETTINGS.__dict__, "dp": False})
    assert _train(data, no_dp, NO_BUDGET, _state(tmp_path)) == Status.TRAINED


def test_an_evaluation_reply_holds_no_exact_totals_and_is_charged(
    data: PartnerData, tmp_path: Path
) -> None:
    state = _state(tmp_path)

    outcome = evaluate_round(_model(), data, SETTINGS, BUDGET, state, run_id="r1", server_round=1)

    assert outcome.status == Status.TRAINED
    assert not any("total" in key for key in outcome.metrics)
    assert set(outcome.metrics) <= {
        "num-examples", "n-customers", "auc-any-repeat", "mae-purchases", "mae-spend",
    }  # fmt: skip
    entries = PrivacyLedger(state.ledger_path).entries()
    assert [(e.run_id, e.noise_multiplier, e.sample_rate, e.steps) for e in entries] == [
        ("r1:evaluate", SETTINGS.evaluation_noise_multiplier, 1.0, 1)
    ]
    assert entries[0].epsilon_after > 0


def test_evaluations_beyond_the_manifests_number_are_refused(
    data: PartnerData, tmp_path: Path
) -> None:
    state = _state(tmp_path)
    allowed = SETTINGS.planned_evaluations
    for rnd in range(1, allowed + 1):
        outcome = evaluate_round(
            _model(), data, SETTINGS, BUDGET, state, run_id="r1", server_round=rnd
        )
        assert outcome.status == Status.TRAINED

    extra = evaluate_round(_model(), data, SETTINGS, BUDGET, state, run_id="r1", server_round=9)

    assert extra.status == Status.REFUSED and f"allows {allowed} evaluation" in extra.reason
    assert len(PrivacyLedger(state.ledger_path).entries()) == allowed


def test_an_evaluation_over_the_budget_is_refused(data: PartnerData, tmp_path: Path) -> None:
    state = _state(tmp_path)
    tiny = NodeSettings(epsilon_budget=0.01)
    outcome = evaluate_round(_model(), data, SETTINGS, tiny, state, run_id="r1", server_round=1)
    assert outcome.status == Status.REFUSED and "above the budget" in outcome.reason
    assert PrivacyLedger(state.ledger_path).entries() == []


def test_a_trained_round_commits_to_its_update_with_a_salted_hash(
    data: PartnerData, tmp_path: Path
) -> None:
    import hashlib

    from federation import state_bytes

    state = _state(tmp_path)
    no_dp = RunSettings(**{**SETTINGS.__dict__, "dp": False})
    outcome = train_round(_model(), data, no_dp, NO_BUDGET, state, run_id="r1", server_round=1)

    assert outcome.state is not None and len(outcome.update_hash) == 64
    assert outcome.update_hash != hashlib.sha256(state_bytes(outcome.state)).hexdigest()


def test_a_partner_may_train_with_opacuss_own_engine(data: PartnerData, tmp_path: Path) -> None:
    from client_node.node_settings import node_settings

    state = _state(tmp_path)
    (state.root / "node.toml").write_text('epsilon-budget = 3.0\ndp-engine = "opacus"\n')
    node = node_settings(SETTINGS, {}, state)

    assert node.dp_engine == "opacus"
    assert _train(data, SETTINGS, node, state) == Status.TRAINED
    assert len(PrivacyLedger(state.ledger_path).entries()) == 1


def test_an_unknown_engine_in_the_node_config_is_a_clear_error(tmp_path: Path) -> None:
    from client_node.errors import PartnerDataError
    from client_node.node_settings import node_settings

    with pytest.raises(PartnerDataError, match="dp-engine must be one of fedinsight, opacus"):
        node_settings(SETTINGS, {"dp-engine": "jax"}, _state(tmp_path))
