"""Per-customer gradients for models built from Linear, Conv1d and LayerNorm layers.

The same per-sample gradients Opacus's ``GradSampleModule`` computes (the tests compare the two),
obtained more cheaply for this project's small model: forward hooks keep each layer's input and
output, one ``torch.autograd.grad`` call returns the gradient of the summed per-example loss with
respect to every layer output (and skips the batch-summed weight gradients a normal backward pass
would also compute), and ``privacy.layer_grads`` turns each into per-sample gradients: a batched
matrix product per layer, or, for a Linear layer on ``[B, in]`` inputs, the two factors of an
outer product whose norm and clipped sum need no per-sample tensor at all (``clipped_sum``).

Notes:
    Requires that example ``i``'s loss depends on example ``i``'s inputs only: no batch
    statistics, no mixing across the batch. Layers with trainable parameters must be exactly
    ``nn.Linear``, ``nn.Conv1d`` (stride 1, dilation 1, one group, zero padding given as an
    integer) or ``nn.LayerNorm``; anything else raises ``UnsupportedModelError`` up front.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from privacy.clipping import clip_scale
from privacy.errors import PrivacyError
from privacy.layer_grads import Dense, SampleGrad, check_supported, layer_grads


@dataclass
class _Call:
    module: nn.Module
    activation: Tensor
    output: Tensor


class PerSampleGradients:
    """Hooks on ``model`` that turn a vector of per-example losses into per-example gradients.

    Use as a context manager (the hooks are removed on exit)::

        with PerSampleGradients(model) as psg:
            losses = per_example_loss(model, batch)      # [B]
            grads = psg.compute(losses)                  # aligned with psg.params
            # or, for DP-SGD: sums, norms = psg.clipped_sum(losses, max_grad_norm=1.0)

    ``grads[k]`` has shape ``[B, *psg.params[k].shape]``. Each forward pass is consumed by one
    ``compute`` or ``clipped_sum``.
    """

    def __init__(self, model: nn.Module) -> None:
        self.params: list[nn.Parameter] = []
        self._modules: list[nn.Module] = []
        for name, module in model.named_modules():
            own = [p for p in module.parameters(recurse=False) if p.requires_grad]
            if not own:
                continue
            check_supported(name or type(model).__name__, module)
            self._modules.append(module)
            self.params.extend(own)
        self._index = {id(p): k for k, p in enumerate(self.params)}
        self._calls: list[_Call] = []
        self._handles: list[RemovableHandle] = []

    def __enter__(self) -> PerSampleGradients:
        self._handles = [m.register_forward_hook(self._record) for m in self._modules]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._calls = []

    def compute(self, losses: Tensor) -> list[Tensor]:
        """Per-example gradients of ``losses`` ([B]) from the forward pass(es) since the last call.

        A layer called several times accumulates; a parameter the losses do not depend on gets
        zeros.
        """
        return [g.per_sample() for g in self._gradients(losses)]

    def clipped_sum(self, losses: Tensor, *, max_grad_norm: float) -> tuple[list[Tensor], Tensor]:
        """``sum_i min(1, max_grad_norm / (|g_i| + 1e-6)) g_i`` per parameter, where ``g_i`` is
        example ``i``'s gradient over all parameters, and the norms ``|g_i|``.

        Equal to ``privacy.clipping.clip_and_sum(self.compute(losses), ...)``, without building
        the per-sample gradients of Linear layers on ``[B, in]`` inputs.
        """
        grads = self._gradients(losses)
        norms = torch.stack([g.squared_norms() for g in grads], dim=1).sum(1).sqrt()
        scale = clip_scale(norms, max_grad_norm=max_grad_norm)
        return [g.weighted_sum(scale) for g in grads], norms

    def _gradients(self, losses: Tensor) -> list[SampleGrad]:
        if not self._handles:
            raise PrivacyError("PerSampleGradients needs its hooks: use it in a with block")
        if losses.dim() != 1:
            raise ValueError(f"losses must be [B] (one per example), got {tuple(losses.shape)}")
        calls, self._calls = self._calls, []
        batch = int(losses.shape[0])
        parts: list[list[SampleGrad]] = [[] for _ in self.params]
        if calls:
            outputs = [c.output for c in calls]
            grads = torch.autograd.grad(losses.sum(), outputs, allow_unused=True)
            for call, grad_output in zip(calls, grads, strict=True):
                if grad_output is None:
                    continue
                for param, sample_grad in layer_grads(call.module, call.activation, grad_output):
                    parts[self._index[id(param)]].append(sample_grad)
        out: list[SampleGrad] = []
        for param, found in zip(self.params, parts, strict=True):
            if len(found) == 1:
                out.append(found[0])
            elif found:
                out.append(Dense(torch.stack([f.per_sample() for f in found]).sum(0)))
            else:
                out.append(Dense(param.new_zeros((batch, *param.shape))))
        return out

    def _record(self, module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        if output.requires_grad:
            self._calls.append(_Call(module, inputs[0].detach(), output))
