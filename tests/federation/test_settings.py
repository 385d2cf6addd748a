"""Run settings: parsed once from the run config, every bad value refused naming its key."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
import pytest

from federation import RunSettings, SettingsError
from insight import FeatureConfig, Periods


@pytest.mark.parametrize("accountant", ["gdp", "RDP", "", "none"])
def test_an_unknown_accountant_is_refused_naming_the_key(accountant: str) -> None:
    with pytest.raises(SettingsError, match="'dp-accountant'"):
        RunSettings.from_mapping({"dp-accountant": accountant})


def test_an_unknown_accountant_is_refused_even_without_dp() -> None:
    with pytest.raises(SettingsError, match="'dp-accountant'"):
        RunSettings.from_mapping({"dp": False, "dp-accountant": "gdp"})


def test_validate_refuses_an_unknown_accountant_set_in_code() -> None:
    settings = RunSettings(dp_accountant="moments")

    with pytest.raises(SettingsError, match="'moments'"):
        settings.validate()


@pytest.mark.parametrize("accountant", ["rdp", "prv"])
def test_the_accountants_of_privacy_are_accepted(accountant: str) -> None:
    settings = RunSettings.from_mapping({"dp-accountant": accountant})

    assert settings.dp_accountant == accountant


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"num-server-rounds": 0}, "num-server-rounds"),
        ({"local-epochs": "two"}, "local-epochs"),
        ({"fraction-train": 1.5}, "fraction-train"),
        ({"target-delta": float("inf")}, "target-delta"),
        ({"calibration-end": "1998-07-01"}, "calibration-end"),
        ({"calibration-start": "1997-09-30"}, "calibration-start"),
        ({"target-delta": 1.5}, "target-delta"),
        ({"epsilon-budget": 0.0}, "epsilon-budget"),
        ({"epsilon-budget": float("nan")}, "epsilon-budget"),
        ({"evaluation-noise-multiplier": 0.0}, "evaluation-noise-multiplier"),
        ({"holdout-end": "not a day"}, "holdout-end"),
    ],
)
def test_a_bad_value_is_refused_naming_the_key(config: dict[str, Any], key: str) -> None:
    with pytest.raises(SettingsError, match=f"'{key}'"):
        RunSettings.from_mapping(config)


def test_unknown_keys_are_ignored_and_strings_parse_to_the_fields_types() -> None:
    settings = RunSettings.from_mapping(
        {"num-server-rounds": "3", "dp": "off", "learning-rate": "0.01", "not-a-key": 1}
    )

    assert (settings.num_server_rounds, settings.dp, settings.learning_rate) == (3, False, 0.01)


def test_an_infinite_budget_means_none_and_round_trips() -> None:
    settings = RunSettings.from_mapping({"epsilon-budget": "inf", "dp": False})

    assert settings.epsilon_budget == float("inf")
    assert RunSettings.from_mapping(settings.to_flower()) == settings


def test_the_planned_evaluations_follow_the_coordinators_rule() -> None:
    assert RunSettings(num_server_rounds=5, evaluate_every=1).planned_evaluations == 5
    assert RunSettings(num_server_rounds=5, evaluate_every=2).planned_evaluations == 3  # 2, 4, 5
    assert RunSettings(num_server_rounds=4, evaluate_every=10).planned_evaluations == 1


def test_to_flower_round_trips() -> None:
    settings = dataclasses.replace(RunSettings(), dp_accountant="prv", num_partners=3)

    assert RunSettings.from_mapping(settings.to_flower()) == settings


def test_periods_and_feature_config_are_what_insight_takes() -> None:
    settings = RunSettings(calibration_end="1997-09-30", holdout_end="1998-06-30", max_events=16)

    assert settings.periods() == Periods(
        calibration_end=pd.Timestamp("1997-09-30"),
        holdout_end=pd.Timestamp("1998-06-30"),
        calibration_start=pd.Timestamp("1997-01-01"),
    )
    assert settings.feature_config() == FeatureConfig(max_events=16, num_windows=6)
    assert settings.holdout_weeks == 39.0
