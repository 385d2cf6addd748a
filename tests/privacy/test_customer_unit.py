"""The privacy unit is one customer: one example per customer per step, however many windows."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from insight.models import CustomerSequenceModel
from insight.training import CustomerWindows, TrainConfig, multitask_loss
from privacy import DPConfig, train_private
from privacy import engines as private_step
from tests.privacy.conftest import synthetic_windows


def test_the_dataset_has_one_item_per_customer_not_per_window() -> None:
    windows = synthetic_windows(40, num_windows=6)
    assert int(windows.valid.sum()) == 240
    assert len(CustomerWindows(windows)) == 40


def test_each_step_holds_distinct_customers(monkeypatch: pytest.MonkeyPatch) -> None:
    windows = synthetic_windows(40, num_windows=6)
    steps: list[list[int]] = []

    def spy(
        model: CustomerSequenceModel, batch: tuple[Tensor, ...], reduction: str = "mean"
    ) -> Tensor:
        steps.append([int(c) for c in batch[2][:, 0]])  # static[:, 0] is the customer's row
        return multitask_loss(model, batch, reduction=reduction)

    monkeypatch.setattr(private_step, "multitask_loss", spy)
    config = TrainConfig(epochs=3, batch_size=20, seed=1)
    stats = train_private(
        CustomerSequenceModel(), windows, config, DPConfig(), noise_multiplier=1.0
    )

    assert stats.sample_rate == 0.5
    assert 0 < len(steps) <= stats.steps
    for customers in steps:
        assert len(customers) == len(set(customers))
        assert set(customers) <= set(range(40))
    seen = torch.tensor([c for customers in steps for c in customers]).float()
    assert seen.numel() == pytest.approx(stats.steps * 20, rel=0.35)  # Poisson, mean q * n
