"""What federating was worth per partner: the local-only model, the goal check, the report."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from federation import RunSettings
from insight import CustomerSequenceModel, InsightError, load_cdnow, prepare_partner
from simulations.report_value import partners_section, plot_value, value_html
from simulations.value_of_federation import Table, goal_misses, train_alone

SETTINGS = RunSettings(
    num_server_rounds=2, local_epochs=1, calibration_end="1997-09-30", holdout_end="1998-06-30"
)


def _data() -> object:
    events = load_cdnow().events
    keep = sorted(events["customer_id"].unique())[:300]
    return prepare_partner(
        "p0",
        events[events["customer_id"].isin(keep)],
        periods=SETTINGS.periods(),
        features=SETTINGS.feature_config(),
    )


def _weights(model: CustomerSequenceModel) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_without_dp_training_alone_is_reproducible_and_starts_from_the_runs_initial_model() -> None:
    data = _data()
    settings = replace(SETTINGS, dp=False, epsilon_budget=float("inf"))

    first = train_alone(data, settings)  # type: ignore[arg-type]
    second = train_alone(data, settings)  # type: ignore[arg-type]
    torch.manual_seed(settings.seed)
    initial = CustomerSequenceModel()

    assert torch.equal(_weights(first), _weights(second))
    assert not torch.equal(_weights(first), _weights(initial))


def test_with_dp_training_alone_adds_noise_so_two_trainings_differ() -> None:
    data = _data()

    first = train_alone(data, SETTINGS)  # type: ignore[arg-type]
    second = train_alone(data, SETTINGS)  # type: ignore[arg-type]

    assert not torch.equal(_weights(first), _weights(second))


def _table(fed: float, alone: float) -> dict[str, dict[str, float]]:
    return {
        "federated": {"auc_any_repeat": fed, "n_customers": 10.0},
        "local_only": {"auc_any_repeat": alone, "n_customers": 10.0},
        "bgnbd_local": {"auc_any_repeat": 0.7, "n_customers": 10.0},
    }


def test_the_goal_counts_only_small_partners_that_lose_auc_by_federating() -> None:
    table: dict[str, Table] = {
        "small-loses": _table(0.70, 0.72),
        "small-gains": _table(0.75, 0.70),
        "big-loses": _table(0.70, 0.80),
    }
    shares = {"small-loses": 0.1, "small-gains": 0.15, "big-loses": 0.75}

    assert goal_misses(table, shares) == ["small-loses"]


def test_report_partners_hold_size_share_and_value_and_the_page_says_where_the_goal_fails(
    tmp_path: Path,
) -> None:
    section = partners_section(
        {"a": 100, "b": 900}, {"a": _table(0.70, 0.72), "b": _table(0.8, 0.7)}
    )

    assert section["a"]["customers"] == 100 and section["a"]["share"] == 0.1
    assert section["b"]["value_of_federation"]["local_only"]["auc_any_repeat"] == 0.7
    assert plot_value(section, tmp_path / "v.png")
    assert (tmp_path / "v.png").read_bytes()[:4] == b"\x89PNG"
    page = value_html(section, True)
    assert "Federated AUC is below local-only AUC for a " in page
    assert '<img src="value_of_federation.png"' in page


def test_without_a_measurement_the_report_has_no_chart_and_says_why(tmp_path: Path) -> None:
    section = partners_section({"a": 5}, {})

    assert "value_of_federation" not in section["a"]
    assert not plot_value(section, tmp_path / "v.png")
    assert "Not measured" in value_html(section, False)


def _partner_events() -> object:
    events = load_cdnow().events
    return events[events["customer_id"].isin(sorted(events["customer_id"].unique())[:300])]


def test_local_bgnbd_gives_finite_forecasts_on_an_ordinary_partner() -> None:
    from simulations.value_of_federation import _bgnbd_local

    preds = _bgnbd_local(_partner_events(), _data(), SETTINGS)  # type: ignore[arg-type]
    assert len(preds.customer_ids) > 100
    assert np.isfinite(np.asarray(preds.expected_purchases)).all()
    assert np.isfinite(np.asarray(preds.prob_any)).all()


def test_a_local_bgnbd_fit_without_a_finite_forecast_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A degenerate fit on a tiny partner (seen at 100 partners and 100,000 customers) used to
    end the whole simulation with a traceback at its last step; the partner is now left out
    of the value table with a warning, as one whose data cannot be trained on."""
    import simulations.value_of_federation as vof

    def overflowed(*args: object) -> np.ndarray:
        return np.full(len(np.asarray(args[2])), np.nan)

    monkeypatch.setattr(vof, "bgnbd_expected_purchases", overflowed)
    with pytest.raises(InsightError, match=r"BG/NBD fitted on this partner's \d+ customers"):
        vof._bgnbd_local(_partner_events(), _data(), SETTINGS)  # type: ignore[arg-type]
