"""Per-customer gradients for models built from Linear, Conv1d and LayerNorm layers.

The same per-sample gradients Opacus's ``GradSampleModule`` computes (the tests compare the two),
obtained more cheaply for this project's small model: forward hooks keep each layer's input and
output, one ``torch.autograd.grad`` call returns the gradient of the summed per-example loss with
respect to every layer output (and skips the batch-summed weight gradients a normal backward pass
would also compute), and each layer's per-sample weight gradient is one batched matrix product.

Notes:
    Requires that example ``i``'s loss depends on example ``i``'s inputs only: no batch
    statistics, no mixing across the batch. Layers with trainable parameters must be exactly
    ``nn.Linear``, ``nn.Conv1d`` (stride 1, dilation 1, one group, zero padding given as an
    integer) or ``nn.LayerNorm``; anything else raises ``UnsupportedModelError`` up front.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from privacy.errors import PrivacyError, UnsupportedModelError

_SUPPORTED: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.LayerNorm)


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

    ``grads[k]`` has shape ``[B, *psg.params[k].shape]``.
    """

    def __init__(self, model: nn.Module) -> None:
        self.params: list[nn.Parameter] = []
        self._modules: list[nn.Module] = []
        for name, module in model.named_modules():
            own = [p for p in module.parameters(recurse=False) if p.requires_grad]
            if not own:
                continue
            _check_supported(name or type(model).__name__, module)
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
        if not self._handles:
            raise PrivacyError("PerSampleGradients.compute needs its hooks: use it in a with block")
        if losses.dim() != 1:
            raise ValueError(f"losses must be [B] (one per example), got {tuple(losses.shape)}")
        calls, self._calls = self._calls, []
        batch = int(losses.shape[0])
        out: list[Tensor | None] = [None] * len(self.params)
        if calls:
            grads = torch.autograd.grad(losses.sum(), [c.output for c in calls], allow_unused=True)
            for call, grad_output in zip(calls, grads, strict=True):
                if grad_output is None:
                    continue
                for param, sample_grad in _layer_grads(call, grad_output):
                    k = self._index[id(param)]
                    prev = out[k]
                    out[k] = sample_grad if prev is None else prev + sample_grad
        return [
            g if g is not None else p.new_zeros((batch, *p.shape))
            for g, p in zip(out, self.params, strict=True)
        ]

    def _record(self, module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        if output.requires_grad:
            self._calls.append(_Call(module, inputs[0].detach(), output))


def _check_supported(name: str, module: nn.Module) -> None:
    if type(module) not in _SUPPORTED:
        raise UnsupportedModelError(
            f"layer '{name}' ({type(module).__name__}) has trainable parameters but no "
            f"per-sample gradient here; supported: {', '.join(t.__name__ for t in _SUPPORTED)}"
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


def _layer_grads(call: _Call, grad_output: Tensor) -> Iterator[tuple[Tensor, Tensor]]:
    module, a, g = call.module, call.activation, grad_output
    batch = a.shape[0]
    if isinstance(module, nn.Linear):
        if a.dim() == 2:
            yield module.weight, g.unsqueeze(2) * a.unsqueeze(1)
            if module.bias is not None:
                yield module.bias, g
            return
        a3 = a.reshape(batch, -1, a.shape[-1])
        g3 = g.reshape(batch, -1, g.shape[-1])
        yield module.weight, torch.bmm(g3.transpose(1, 2), a3)
        if module.bias is not None:
            yield module.bias, g3.sum(1)
    elif isinstance(module, nn.Conv1d):
        if a.dim() != 3:
            raise UnsupportedModelError("Conv1d per-sample gradients need batched [B, C, L] input")
        pad = int(module.padding[0])
        kernel = module.kernel_size[0]
        cols = F.pad(a, (pad, pad)).unfold(2, kernel, 1)  # [B, C_in, L_out, k]
        cols = cols.permute(0, 2, 1, 3).reshape(batch, g.shape[2], -1)
        yield module.weight, torch.bmm(g, cols).view(batch, *module.weight.shape)
        if module.bias is not None:
            yield module.bias, g.sum(2)
    elif isinstance(module, nn.LayerNorm):
        x_hat = F.layer_norm(a, module.normalized_shape, eps=module.eps)
        dims = list(range(1, a.dim() - len(module.normalized_shape)))
        if module.weight is not None:
            yield module.weight, (g * x_hat).sum(dims) if dims else g * x_hat
        if module.bias is not None:
            yield module.bias, g.sum(dims) if dims else g
