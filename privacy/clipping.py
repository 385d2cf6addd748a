"""The Gaussian mechanism of DP-SGD: clip each customer's gradient, sum, add noise, average.

Mirrors Opacus's ``DPOptimizer`` with flat clipping and ``loss_reduction="mean"``: each
per-sample gradient is scaled by ``min(1, max_grad_norm / (norm + 1e-6))`` (its norm over all
parameters), the clipped gradients are summed, Gaussian noise of standard deviation
``noise_multiplier * max_grad_norm`` is added, and the result is divided by the *expected* batch
size (dividing by the drawn batch size would reveal it).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

# Opacus's secure_mode draws 4 Gaussians of std s and returns their sum / 2 (std s again):
# the sum's floating-point values are no longer the sparse set a single sampler can produce,
# which defeats the floating-point attacks on the Gaussian mechanism (see docs/privacy.md).
_NOISE_DRAWS = 4


def clip_scale(norms: Tensor, *, max_grad_norm: float) -> Tensor:
    """Opacus's flat clipping factor of each example: ``min(1, max_grad_norm / (norm + 1e-6))``."""
    return (max_grad_norm / (norms + 1e-6)).clamp(max=1.0)


def clip_and_sum(
    per_sample: Sequence[Tensor], *, max_grad_norm: float
) -> tuple[list[Tensor], Tensor]:
    """Per-parameter sums of the clipped per-sample gradients, and the per-sample norms.

    ``per_sample[k]`` has shape ``[B, *param_k.shape]``; the norm of example ``i`` is taken over
    all parameters together. Requires ``max_grad_norm > 0``.
    """
    if not per_sample:
        raise ValueError("no per-sample gradients to clip")
    batch = int(per_sample[0].shape[0])
    flat = [g.reshape(batch, g.shape[1:].numel()) for g in per_sample]
    norms = torch.linalg.vector_norm(
        torch.stack([torch.linalg.vector_norm(f, dim=1) for f in flat], dim=1), dim=1
    )
    scale = clip_scale(norms, max_grad_norm=max_grad_norm)
    sums = [(scale @ f).view(g.shape[1:]) for f, g in zip(flat, per_sample, strict=True)]
    return sums, norms


def gaussian_noise(
    shapes: Sequence[torch.Size], *, std: float, generator: torch.Generator
) -> list[Tensor]:
    """Independent N(0, std^2) noise for tensors of ``shapes``, each value a hardened draw."""
    sizes = [int(torch.Size(s).numel()) for s in shapes]
    total = sum(sizes)
    if std == 0:
        flat = torch.zeros(total)
    else:
        draws = torch.normal(0.0, std, size=(_NOISE_DRAWS, total), generator=generator)
        flat = draws.sum(0) / 2.0
    return [chunk.view(s) for chunk, s in zip(torch.split(flat, sizes), shapes, strict=True)]


def private_gradients(
    per_sample: Sequence[Tensor],
    *,
    max_grad_norm: float,
    noise_multiplier: float,
    expected_batch_size: float,
    generator: torch.Generator,
) -> list[Tensor]:
    """``(sum of clipped per-sample gradients + noise) / expected_batch_size``, per parameter.

    An empty batch (``B = 0``) still gets its noise: the step is counted by the accountant.
    """
    sums, _ = clip_and_sum(per_sample, max_grad_norm=max_grad_norm)
    return noisy_average(
        sums,
        max_grad_norm=max_grad_norm,
        noise_multiplier=noise_multiplier,
        expected_batch_size=expected_batch_size,
        generator=generator,
    )


def noisy_average(
    sums: Sequence[Tensor],
    *,
    max_grad_norm: float,
    noise_multiplier: float,
    expected_batch_size: float,
    generator: torch.Generator,
) -> list[Tensor]:
    """``(sum + N(0, (noise_multiplier * max_grad_norm)^2)) / expected_batch_size`` per
    parameter, from sums of clipped per-sample gradients."""
    noise = gaussian_noise(
        [s.shape for s in sums], std=noise_multiplier * max_grad_norm, generator=generator
    )
    return [(s + n) / expected_batch_size for s, n in zip(sums, noise, strict=True)]
