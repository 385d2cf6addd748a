"""train_private on tiny synthetic windows: it trains, spends, and reports its schedule."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from insight.features import WindowSet
from insight.models import CustomerSequenceModel
from insight.training import TrainConfig
from privacy import (
    DPConfig,
    PrivacyConfigError,
    PrivacyLedger,
    epsilon_for,
    round_schedule,
    train_private,
)
from privacy import training as private_training

CONFIG = TrainConfig(epochs=2, batch_size=16, learning_rate=1e-2, seed=3)
DP = DPConfig(noise_multiplier=1.0, max_grad_norm=1.0)


def _weights(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).clone()


def test_train_private_changes_the_model_and_spends_epsilon(tiny_windows: WindowSet) -> None:
    model = CustomerSequenceModel()
    before = _weights(model)

    stats = train_private(model, tiny_windows, CONFIG, DP, noise_multiplier=1.0)

    assert not torch.equal(before, _weights(model))
    assert stats.epsilon > 0
    assert np.isfinite(stats.mean_loss)
    assert stats.num_examples == 64
    assert stats.sample_rate == 16 / 64
    assert stats.steps == 2 * 4
    assert stats.target_delta == 1e-5
    assert stats.epsilon == epsilon_for(
        [(1.0, 16 / 64, stats.steps)], target_delta=1e-5, accountant="rdp"
    )


def test_the_schedule_counts_only_customers_with_a_valid_window(tiny_windows: WindowSet) -> None:
    valid = tiny_windows.valid.copy()
    valid[:14] = False
    windows = dataclasses.replace(tiny_windows, valid=valid)

    schedule = round_schedule(windows, CONFIG)

    assert schedule.num_customers == 50
    assert schedule.sample_rate == 16 / 50
    assert schedule.steps == 2 * 4


def test_training_twice_spends_twice_in_the_ledger(tiny_windows: WindowSet, tmp_path: Path) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    model = CustomerSequenceModel()
    for rnd in (1, 2):
        stats = train_private(model, tiny_windows, CONFIG, DP, noise_multiplier=1.0)
        ledger.record(
            run_id="run-1",
            round=rnd,
            noise_multiplier=stats.noise_multiplier,
            sample_rate=stats.sample_rate,
            steps=stats.steps,
            target_delta=stats.target_delta,
            accountant="rdp",
        )

    spent = ledger.spent(target_delta=stats.target_delta, accountant="rdp")
    assert spent > stats.epsilon
    assert spent == pytest.approx(
        epsilon_for(
            [(1.0, stats.sample_rate, 2 * stats.steps)], target_delta=1e-5, accountant="rdp"
        )
    )


def test_disabled_dp_is_refused(tiny_windows: WindowSet) -> None:
    with pytest.raises(PrivacyConfigError, match="disabled"):
        train_private(
            CustomerSequenceModel(),
            tiny_windows,
            CONFIG,
            DPConfig(enabled=False),
            noise_multiplier=1.0,
        )


def test_a_sigma_other_than_the_configured_one_is_refused(tiny_windows: WindowSet) -> None:
    with pytest.raises(PrivacyConfigError, match="differs"):
        train_private(CustomerSequenceModel(), tiny_windows, CONFIG, DP, noise_multiplier=0.5)


def test_the_secure_mode_caveat_is_logged_once(
    tiny_windows: WindowSet, caplog: pytest.LogCaptureFixture
) -> None:
    private_training._warn_secure_mode_unavailable.cache_clear()
    config = dataclasses.replace(CONFIG, epochs=1)
    with caplog.at_level(logging.WARNING, logger="privacy.training"):
        train_private(CustomerSequenceModel(), tiny_windows, config, DP, noise_multiplier=1.0)
        train_private(CustomerSequenceModel(), tiny_windows, config, DP, noise_multiplier=1.0)
    warnings = [r for r in caplog.records if "secure_mode" in r.getMessage()]
    assert len(warnings) == 1
