"""The per-sample DP step, by either engine a partner may choose (``dp-engine`` in its node config).

* ``fedinsight`` (default): the project's own per-sample gradients (``privacy.per_sample``),
  clipping and noise (``privacy.clipping``): about 1.3x a plain step.
* ``opacus``: Opacus's own ``GradSampleModule`` (hooks) and ``DPOptimizer``, for auditors who
  accept only the library itself: about 2x a plain step.

Both take the same Poisson batches of customers (``train_private``'s sampler) and compute the
same mechanism: per-customer gradients clipped to ``max_grad_norm`` (factor
``min(1, max_grad_norm / (norm + 1e-6))``), summed, Gaussian noise of standard deviation
``noise_multiplier * max_grad_norm`` added, divided by the expected batch size, then the
optimiser's step; so the accountant and ledger are the same for both.
"""

from __future__ import annotations

import warnings
from typing import Protocol

import torch
from opacus.grad_sample import GradSampleModule
from opacus.optimizers import DPOptimizer
from torch import Tensor

from insight.models import CustomerSequenceModel
from insight.training import multitask_loss
from privacy.clipping import noisy_average
from privacy.errors import PrivacyConfigError
from privacy.gradient_canaries import GradientCanaries
from privacy.per_sample import PerSampleGradients

__all__ = ["FedinsightStep", "OpacusStep", "PrivateStep", "make_step"]

Batch = tuple[Tensor, ...]


class PrivateStep(Protocol):
    """One DP-SGD step on a Poisson batch (None: an empty one, noise only); returns the batch's
    summed loss (a local diagnostic)."""

    def step(self, batch: Batch | None) -> float: ...

    def close(self) -> None: ...


class FedinsightStep:
    """The project's own engine (the module docstring)."""

    def __init__(
        self,
        model: CustomerSequenceModel,
        optimizer: torch.optim.Optimizer,
        *,
        max_grad_norm: float,
        noise_multiplier: float,
        expected_batch_size: float,
        generator: torch.Generator,
        canaries: GradientCanaries | None = None,
    ) -> None:
        self.model, self.optimizer = model, optimizer
        self.max_grad_norm, self.noise_multiplier = max_grad_norm, noise_multiplier
        self.expected_batch_size, self.generator = expected_batch_size, generator
        self.canaries = canaries
        self.psg = PerSampleGradients(model).__enter__()

    def step(self, batch: Batch | None) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        loss = 0.0
        if batch is not None:
            losses = multitask_loss(self.model, batch, reduction="none")
            sums, _ = self.psg.clipped_sum(losses, max_grad_norm=self.max_grad_norm)
            loss = float(losses.detach().sum())
        else:
            sums = [torch.zeros_like(p) for p in self.psg.params]
        if self.canaries is not None:  # the audit's gradient canaries, before the noise
            self.canaries.add(sums, max_grad_norm=self.max_grad_norm)
        grads = noisy_average(
            sums,
            max_grad_norm=self.max_grad_norm,
            noise_multiplier=self.noise_multiplier,
            expected_batch_size=self.expected_batch_size,
            generator=self.generator,
        )
        if self.canaries is not None:
            self.canaries.observe(grads, batch=self.expected_batch_size)
        for param, grad in zip(self.psg.params, grads, strict=True):
            param.grad = grad
        self.optimizer.step()
        return loss

    def close(self) -> None:
        self.psg.__exit__(None, None, None)


class OpacusStep:
    """Opacus's engine: ``GradSampleModule`` hooks on the model compute per-sample gradients of
    the summed loss; ``DPOptimizer`` clips, accumulates and adds noise (``pre_step``); the sum is
    divided by the expected batch size (a float, as in the project's engine, where Opacus's
    ``loss_reduction="mean"`` takes an int) before the wrapped optimiser's step."""

    def __init__(
        self,
        model: CustomerSequenceModel,
        optimizer: torch.optim.Optimizer,
        *,
        max_grad_norm: float,
        noise_multiplier: float,
        expected_batch_size: float,
        generator: torch.Generator,
        canaries: GradientCanaries | None = None,
    ) -> None:
        if canaries is not None:
            raise PrivacyConfigError(
                "gradient canaries (the privacy audit) need the fedinsight engine, not 'opacus'"
            )
        self.model = model
        self.expected_batch_size = expected_batch_size
        self.gsm = GradSampleModule(model, batch_first=True, loss_reduction="sum")
        self.optimizer = DPOptimizer(
            optimizer,
            noise_multiplier=noise_multiplier,
            max_grad_norm=max_grad_norm,
            expected_batch_size=None,
            loss_reduction="sum",
            generator=generator,
        )

    def step(self, batch: Batch | None) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        loss = 0.0
        if batch is not None:
            losses = multitask_loss(self.model, batch, reduction="none")
            with warnings.catch_warnings():
                # The first layer's inputs need no gradient; its weights' hooks still fire.
                warnings.filterwarnings("ignore", message="Full backward hook is firing")
                losses.sum().backward()  # type: ignore[no-untyped-call]
            loss = float(losses.detach().sum())
        else:  # an empty Poisson batch: no per-sample gradient, noise only
            for p in self.optimizer.params:
                p.grad_sample = torch.zeros((0, *p.shape), dtype=p.dtype)
        if self.optimizer.pre_step():
            for p in self.optimizer.params:
                assert p.grad is not None
                p.grad /= self.expected_batch_size
            self.optimizer.original_optimizer.step()
        return loss

    def close(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.gsm._close()


def make_step(
    engine: str,
    model: CustomerSequenceModel,
    optimizer: torch.optim.Optimizer,
    *,
    max_grad_norm: float,
    noise_multiplier: float,
    expected_batch_size: float,
    generator: torch.Generator,
    canaries: GradientCanaries | None = None,
) -> PrivateStep:
    """The step of ``engine`` (one of ``privacy.config.ENGINES``) over ``model`` and
    ``optimizer``; ``close`` it after the last step. Only the ``fedinsight`` engine takes the
    audit's ``canaries`` (``privacy.gradient_canaries``)."""
    kinds: dict[str, type[FedinsightStep] | type[OpacusStep]] = {
        "fedinsight": FedinsightStep,
        "opacus": OpacusStep,
    }
    if engine not in kinds:
        raise PrivacyConfigError(f"engine must be one of {', '.join(kinds)}, got {engine!r}")
    kind = kinds[engine]
    return kind(
        model,
        optimizer,
        max_grad_norm=max_grad_norm,
        noise_multiplier=noise_multiplier,
        expected_batch_size=expected_batch_size,
        generator=generator,
        canaries=canaries,
    )
