"""DPConfig validation and the default delta."""

from __future__ import annotations

import pytest

from privacy import DPConfig, PrivacyConfigError, default_delta


def test_default_delta_is_1e5_for_small_partners_and_a_tenth_of_1_over_n_for_large() -> None:
    assert default_delta(4_700) == 1e-5
    assert default_delta(100_000) == pytest.approx(1e-6)


def test_default_delta_rejects_an_empty_partner() -> None:
    with pytest.raises(PrivacyConfigError, match="num_customers"):
        default_delta(0)


def test_delta_for_prefers_the_configured_delta() -> None:
    assert DPConfig(target_delta=1e-6).delta_for(100) == 1e-6
    assert DPConfig().delta_for(100) == 1e-5


def test_noise_multiplier_none_calibrates_from_a_target_epsilon() -> None:
    config = DPConfig(noise_multiplier=None, target_epsilon=3.0)
    assert config.target_epsilon == 3.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"noise_multiplier": 0.0}, "noise_multiplier"),
        ({"noise_multiplier": float("nan")}, "noise_multiplier"),
        ({"max_grad_norm": -1.0}, "max_grad_norm"),
        ({"max_grad_norm": float("inf")}, "max_grad_norm"),
        ({"target_delta": 1.0}, "target_delta"),
        ({"epsilon_budget": 0.0}, "epsilon_budget"),
        ({"accountant": "gdp"}, "accountant"),
        ({"noise_multiplier": None}, "exactly one"),
        ({"noise_multiplier": 1.0, "target_epsilon": 2.0}, "exactly one"),
        ({"noise_multiplier": None, "target_epsilon": 9.0, "epsilon_budget": 8.0}, "budget"),
        ({"max_grad_norm": True}, "max_grad_norm"),
    ],
)
def test_invalid_settings_name_the_parameter(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(PrivacyConfigError, match=message):
        DPConfig(**kwargs)  # type: ignore[arg-type]


def test_a_disabled_config_needs_no_noise_setting() -> None:
    assert not DPConfig(enabled=False, noise_multiplier=None).enabled
