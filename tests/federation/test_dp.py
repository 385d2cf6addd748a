"""The one mapping from run settings to DP terms: what partners train under and what the
coordinator logs come from the same terms."""

from __future__ import annotations

import pytest

from audit import COSIGNATURE_V1, NoteSigner, run_start_record
from federation import DPTerms, RunSettings, SettingsError, dp_terms
from privacy import DPConfig


def test_default_settings_calibrate_sigma_to_the_target_epsilon() -> None:
    assert dp_terms(RunSettings()) == DPTerms(
        enabled=True,
        accountant="rdp",
        max_grad_norm=20.0,
        target_delta=1e-5,
        noise_multiplier=None,
        target_epsilon=3.0,
    )


def test_a_fixed_noise_multiplier_replaces_the_target_epsilon() -> None:
    terms = dp_terms(RunSettings(noise_multiplier=1.1, target_epsilon=5.0))

    assert (terms.noise_multiplier, terms.target_epsilon) == (1.1, None)


def test_the_record_states_the_target_epsilon_when_sigma_is_calibrated() -> None:
    record = dp_terms(RunSettings(dp_accountant="prv", max_grad_norm=2.0)).record()

    assert record == {
        "accountant": "prv",
        "max_grad_norm": 2.0,
        "target_delta": 1e-5,
        "target_epsilon": 3.0,
    }


def test_the_record_states_sigma_when_it_is_fixed() -> None:
    record = dp_terms(RunSettings(noise_multiplier=0.8)).record()

    assert record == {
        "accountant": "rdp",
        "max_grad_norm": 20.0,
        "target_delta": 1e-5,
        "noise_multiplier": 0.8,
    }


def test_the_record_without_dp_names_no_accountant() -> None:
    assert dp_terms(RunSettings(dp=False)).record() == {"accountant": "none", "target_delta": 0}


@pytest.mark.parametrize(
    "settings",
    [RunSettings(), RunSettings(noise_multiplier=0.8), RunSettings(dp=False)],
    ids=["calibrated", "fixed", "off"],
)
def test_the_record_is_a_valid_run_start_dp_field(settings: RunSettings) -> None:
    witness = NoteSigner.generate("partner-0", COSIGNATURE_V1).verifier.vkey
    record = run_start_record(
        config_hash="c" * 64,
        code_hash="d" * 64,
        model_arch_hash="a" * 64,
        dp=dp_terms(settings).record(),
        partners={"partner-0": witness},
        started_at="2024-01-01T00:00:00Z",
    )

    assert record["dp"] == dp_terms(settings).record()


def test_the_config_is_the_terms_with_the_partners_own_budget() -> None:
    config = dp_terms(RunSettings(dp_accountant="prv", target_delta=1e-6)).config(
        epsilon_budget=8.0
    )

    assert config == DPConfig(
        enabled=True,
        noise_multiplier=None,
        max_grad_norm=20.0,
        target_epsilon=3.0,
        target_delta=1e-6,
        accountant="prv",
        epsilon_budget=8.0,
    )


def test_the_config_and_the_record_agree_on_the_accountant() -> None:
    terms = dp_terms(RunSettings(dp_accountant="prv"))

    assert terms.config(epsilon_budget=3.0).accountant == terms.record()["accountant"] == "prv"


def test_the_mapping_refuses_an_unknown_accountant_it_is_given_unvalidated() -> None:
    # A dataclass built in code skips validate(); the mapping still refuses, never trains as RDP.
    with pytest.raises(SettingsError, match=r"'dp-accountant'.*'gdp'"):
        dp_terms(RunSettings(dp_accountant="gdp"))
