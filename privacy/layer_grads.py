"""Per-sample gradients of one layer call, from its input and the gradient of its output.

Two forms, both exact. ``Dense`` holds the per-sample gradients themselves. ``Outer`` holds a
Linear layer's per-sample weight gradient on a ``[B, in]`` input as the factors of the outer
product ``g_i a_i^T``, never built: its norm is ``|g_i| |a_i|`` and the clipped sum
``sum_i s_i g_i a_i^T`` is one matrix product (the "ghost norm" of Goodfellow, 2015).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from privacy.errors import UnsupportedModelError


@dataclass(frozen=True)
class Dense:
    """Per-sample gradients ``[B, *shape]``; with ``swapped`` the last two dims are stored
    swapped (contiguous in that order), and swapped back on the way out."""

    values: Tensor
    swapped: bool = False

    def per_sample(self) -> Tensor:
        return self.values.transpose(-1, -2) if self.swapped else self.values

    def squared_norms(self) -> Tensor:
        flat = self.values.reshape(self.values.shape[0], -1)
        norms: Tensor = torch.linalg.vector_norm(flat, dim=1)
        return norms.square()

    def weighted_sum(self, scale: Tensor) -> Tensor:
        flat = self.values.reshape(self.values.shape[0], -1)
        total = (scale @ flat).view(self.values.shape[1:])
        return total.transpose(-1, -2) if self.swapped else total


@dataclass(frozen=True)
class Outer:
    """Per-sample gradients ``g_i a_i^T`` of a ``[out, in]`` weight, kept as ``g`` [B, out] and
    ``a`` [B, in]."""

    grad_output: Tensor
    activation: Tensor

    def per_sample(self) -> Tensor:
        return torch.einsum("bo,bi->boi", self.grad_output, self.activation)

    def squared_norms(self) -> Tensor:
        g: Tensor = torch.linalg.vector_norm(self.grad_output, dim=1)
        a: Tensor = torch.linalg.vector_norm(self.activation, dim=1)
        return (g * a).square()

    def weighted_sum(self, scale: Tensor) -> Tensor:
        return (self.grad_output * scale.unsqueeze(1)).t() @ self.activation


SampleGrad = Dense | Outer


def check_supported(name: str, module: nn.Module) -> None:
    """Raise ``UnsupportedModelError`` unless ``layer_grads`` handles ``module``."""
    supported = (nn.Linear, nn.Conv1d, nn.LayerNorm)
    if type(module) not in supported:
        raise UnsupportedModelError(
            f"layer '{name}' ({type(module).__name__}) has trainable parameters but no "
            f"per-sample gradient here; supported: {', '.join(t.__name__ for t in supported)}"
        )
    if isinstance(module, nn.Conv1d) and not (
        module.stride == (1,)
        and module.dilation == (1,)
        and module.groups == 1
        and module.padding_mode == "zeros"
        and isinstance(module.padding, tuple)
    ):
        raise UnsupportedModelError(
            f"layer '{name}' (Conv1d) needs stride 1, dilation 1, groups 1 and integer zero padding"
        )


def layer_grads(
    module: nn.Module, activation: Tensor, grad_output: Tensor
) -> Iterator[tuple[Tensor, SampleGrad]]:
    """``(parameter, per-sample gradient)`` for each trainable parameter of one call of
    ``module`` (checked by ``check_supported``) on ``activation``, batch first."""
    if isinstance(module, nn.Linear):
        yield from _linear(module, activation, grad_output)
    elif isinstance(module, nn.Conv1d):
        yield from _conv1d(module, activation, grad_output)
    elif isinstance(module, nn.LayerNorm):
        yield from _layer_norm(module, activation, grad_output)


def _linear(module: nn.Linear, a: Tensor, g: Tensor) -> Iterator[tuple[Tensor, SampleGrad]]:
    if a.dim() == 2:
        if module.weight.requires_grad:
            yield module.weight, Outer(g, a)
        if module.bias is not None and module.bias.requires_grad:
            yield module.bias, Dense(g)
        return
    batch = a.shape[0]
    a3 = a.reshape(batch, -1, a.shape[-1])
    g3 = g.reshape(batch, -1, g.shape[-1])
    if module.weight.requires_grad:
        yield module.weight, Dense(torch.bmm(g3.transpose(1, 2), a3))
    if module.bias is not None and module.bias.requires_grad:
        yield module.bias, Dense(g3.sum(1))


def _conv1d(module: nn.Conv1d, a: Tensor, g: Tensor) -> Iterator[tuple[Tensor, SampleGrad]]:
    # weight[o, c, j] of example b is sum_l g[b, o, l] * x[b, c, l + j - pad]: one batched
    # matrix product per kernel tap over the output positions that tap sees inside the input,
    # on strided views of the [B, L, C] activation (no im2col copy).
    if a.dim() != 3:
        raise UnsupportedModelError("Conv1d per-sample gradients need batched [B, C, L] input")
    if module.weight.requires_grad:
        batch, channels, length = a.shape
        out_length = g.shape[2]
        pad = int(module.padding[0])
        x = a.transpose(1, 2)
        taps = []
        for j in range(module.kernel_size[0]):
            shift = j - pad
            lo, hi = max(0, -shift), min(out_length, length - shift)
            if hi > lo:
                taps.append(torch.bmm(g[:, :, lo:hi], x[:, lo + shift : hi + shift, :]))
            else:
                taps.append(g.new_zeros((batch, g.shape[1], channels)))
        yield module.weight, Dense(torch.stack(taps, dim=2), swapped=True)
    if module.bias is not None and module.bias.requires_grad:
        yield module.bias, Dense(g.sum(2))


def _layer_norm(module: nn.LayerNorm, a: Tensor, g: Tensor) -> Iterator[tuple[Tensor, SampleGrad]]:
    dims = list(range(1, a.dim() - len(module.normalized_shape)))
    if module.weight is not None and module.weight.requires_grad:
        x_hat = F.layer_norm(a, module.normalized_shape, eps=module.eps)
        yield module.weight, Dense((g * x_hat).sum(dims) if dims else g * x_hat)
    if module.bias is not None and module.bias.requires_grad:
        yield module.bias, Dense(g.sum(dims) if dims else g)
