"""Clipping and noise: Opacus's DPOptimizer arithmetic, bounded per-customer influence."""

from __future__ import annotations

import pytest
import torch
from opacus.optimizers import DPOptimizer
from torch import nn

from privacy.clipping import clip_and_sum, gaussian_noise, private_gradients


def _per_sample(batch: int, scale: float, seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [
        torch.randn(batch, 3, 4, generator=gen) * scale,
        torch.randn(batch, 3, generator=gen) * scale,
    ]


def _flat_norm(tensors: list[torch.Tensor]) -> float:
    return float(torch.cat([t.reshape(-1) for t in tensors]).norm())


def test_each_customer_contributes_at_most_max_grad_norm() -> None:
    grads = _per_sample(batch=6, scale=50.0)
    for i in range(6):
        one = [g[i : i + 1] for g in grads]
        sums, norms = clip_and_sum(one, max_grad_norm=0.5)
        assert norms[0] > 0.5
        assert _flat_norm(sums) == pytest.approx(0.5, rel=1e-5)


def test_gradients_inside_the_bound_are_left_alone() -> None:
    grads = _per_sample(batch=4, scale=1e-3)
    sums, _ = clip_and_sum(grads, max_grad_norm=1.0)
    for s, g in zip(sums, grads, strict=True):
        torch.testing.assert_close(s, g.sum(0), rtol=1e-5, atol=1e-7)


def test_noiseless_result_equals_opacus_dp_optimizer() -> None:
    layer = nn.Linear(4, 3)
    grads = _per_sample(batch=8, scale=2.0)
    optimizer = DPOptimizer(
        torch.optim.SGD(layer.parameters(), lr=0.1),
        noise_multiplier=0.0,
        max_grad_norm=1.5,
        expected_batch_size=10,
    )
    for param, g in zip(layer.parameters(), grads, strict=True):
        param.grad_sample = g.clone()  # type: ignore[attr-defined]
    optimizer.pre_step()

    ours = private_gradients(
        grads,
        max_grad_norm=1.5,
        noise_multiplier=0.0,
        expected_batch_size=10,
        generator=torch.Generator(),
    )

    for mine, param in zip(ours, layer.parameters(), strict=True):
        assert param.grad is not None
        torch.testing.assert_close(mine, param.grad)


def test_noise_has_the_calibrated_standard_deviation() -> None:
    gen = torch.Generator().manual_seed(7)
    (noise,) = gaussian_noise([torch.Size([400_000])], std=1.7, generator=gen)
    assert float(noise.std()) == pytest.approx(1.7, rel=0.01)
    assert abs(float(noise.mean())) < 0.01


def test_an_empty_batch_gets_noise_only() -> None:
    empty = [torch.zeros(0, 3, 4), torch.zeros(0, 3)]
    grads = private_gradients(
        empty,
        max_grad_norm=1.0,
        noise_multiplier=1.0,
        expected_batch_size=4.0,
        generator=torch.Generator().manual_seed(0),
    )
    assert [tuple(g.shape) for g in grads] == [(3, 4), (3,)]
    assert all(bool(g.abs().sum() > 0) for g in grads)
