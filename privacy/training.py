"""Local DP-SGD training of the sequence model: one customer is one privacy unit.

``insight.training.CustomerWindows`` is a dataset of customers, not of windows: each epoch it
draws one window per customer. Each step samples customers by Poisson sampling (Opacus's
``UniformWithReplacementSampler``: every customer independently with probability
``sample_rate``), so a customer appears at most once in a step, however many windows it has, and
its per-sample gradient is a per-customer gradient. Clipping those at ``max_grad_norm`` and adding
Gaussian noise gives the Poisson-subsampled Gaussian mechanism Opacus's accountants analyse, at
the level of customers.

Notes:
    Noise and sampling use ``torch.Generator`` objects seeded from the operating system's entropy
    (never from ``TrainConfig.seed``, which the coordinator knows): a known seed would let anyone
    replay the noise and the batches. They are not a cryptographically secure generator
    (``secure_mode`` needs ``torchcsprng``, which has no wheel for this platform); see
    docs/privacy.md.
"""

from __future__ import annotations

import functools
import logging
import math
import secrets
import time
from dataclasses import dataclass

import torch
from opacus.utils.uniform_sampler import UniformWithReplacementSampler
from torch import Tensor

from insight.features import WindowSet
from insight.models import CustomerSequenceModel
from insight.training import CustomerWindows, TrainConfig
from privacy.accounting import epsilon_for
from privacy.config import DPConfig, check_positive
from privacy.engines import make_step
from privacy.errors import PrivacyConfigError
from privacy.gradient_canaries import CanarySpec, GradientCanaries

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoundSchedule:
    """What one call of ``train_private`` will spend: ``steps`` steps at ``sample_rate``."""

    num_customers: int
    sample_rate: float
    steps: int

    @classmethod
    def for_customers(cls, num_customers: int, config: TrainConfig) -> RoundSchedule:
        """Sample rate ``batch_size / n`` (at most 1) and ``epochs * ceil(n / batch_size)`` steps,
        as many as non-private training takes."""
        if config.batch_size < 1 or config.epochs < 1:
            raise PrivacyConfigError("batch_size and epochs must be >= 1")
        if num_customers < 1:
            raise PrivacyConfigError("no customer has a valid training window")
        return cls(
            num_customers=num_customers,
            sample_rate=min(1.0, config.batch_size / num_customers),
            steps=config.epochs * math.ceil(num_customers / config.batch_size),
        )


@dataclass(frozen=True)
class PrivateTrainStats:
    """The outcome of ``train_private``.

    ``epsilon`` is this training's alone, at ``target_delta`` (the ledger adds up all of them).
    ``mean_loss`` is a local diagnostic computed from the data without noise: it is not covered
    by the DP guarantee and must not leave the partner.
    """

    num_examples: int
    steps: int
    sample_rate: float
    noise_multiplier: float
    max_grad_norm: float
    target_delta: float
    epsilon: float
    mean_loss: float
    seconds: float
    canary_scores: tuple[float, ...] | None = None  # the audit's, when canaries were given


def round_schedule(windows: WindowSet, config: TrainConfig) -> RoundSchedule:
    """``train_private``'s schedule over the customers of ``windows`` with a valid window."""
    return RoundSchedule.for_customers(int(windows.valid.any(axis=1).sum()), config)


def train_private(
    model: CustomerSequenceModel,
    windows: WindowSet,
    config: TrainConfig,
    dp: DPConfig,
    *,
    noise_multiplier: float,
    canaries: CanarySpec | None = None,
) -> PrivateTrainStats:
    """Train ``model`` in place with DP-SGD over customers; the schedule is ``round_schedule``.

    ``noise_multiplier`` is the resolved sigma (``privacy.noise_multiplier_for``); it must equal
    ``dp.noise_multiplier`` when that is set. ``dp.engine`` picks the per-sample step
    (``privacy.engines``). The optimiser is AdamW with ``config``'s learning
    rate and weight decay, applied to the noised gradient (post-processing).
    Requires ``dp.enabled`` and labelled windows. ``canaries``: the privacy audit's gradient
    canaries (``privacy.gradient_canaries``), sampled at the schedule's rate; their scores come
    back in the stats.
    """
    if not dp.enabled:
        raise PrivacyConfigError("train_private called with DP disabled (DPConfig.enabled=False)")
    check_positive("noise_multiplier", noise_multiplier)
    if dp.noise_multiplier is not None and noise_multiplier != dp.noise_multiplier:
        raise PrivacyConfigError(
            f"noise_multiplier {noise_multiplier} differs from DPConfig.noise_multiplier "
            f"{dp.noise_multiplier}"
        )
    _warn_secure_mode_unavailable()
    schedule = round_schedule(windows, config)
    dataset = CustomerWindows(windows, seed=config.seed)
    n = len(dataset)
    steps_per_epoch = schedule.steps // config.epochs
    sampler = UniformWithReplacementSampler(
        num_samples=n,
        sample_rate=schedule.sample_rate,
        generator=_os_seeded_generator(),
        steps=steps_per_epoch,
    )
    noise_generator = _os_seeded_generator()
    expected_batch_size = schedule.sample_rate * n
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    model.train()
    t0 = time.perf_counter()
    steps, loss_sum, seen = 0, 0.0, 0
    audit = _gradient_canaries(canaries, model, schedule.sample_rate)
    engine = make_step(
        dp.engine,
        model,
        optimizer,
        max_grad_norm=dp.max_grad_norm,
        noise_multiplier=noise_multiplier,
        expected_batch_size=expected_batch_size,
        generator=noise_generator,
        canaries=audit,
    )
    try:
        for epoch in range(config.epochs):
            dataset.reseed(config.seed * 1000 + epoch)
            for indices in sampler:
                # An empty Poisson batch still makes a step: noise only.
                batch = _collate(dataset, indices) if indices else None
                loss_sum += engine.step(batch)
                seen += len(indices)
                steps += 1
    finally:
        engine.close()
    mean_loss = loss_sum / max(seen, 1)
    if not math.isfinite(mean_loss):
        raise FloatingPointError("private training diverged (non-finite loss)")
    target_delta = dp.delta_for(n)
    epsilon = epsilon_for(
        [(noise_multiplier, schedule.sample_rate, steps)],
        target_delta=target_delta,
        accountant=dp.accountant,
    )
    logger.info(
        "private training: %d steps at sample rate %.4g, sigma %.3g, epsilon %.4f (delta %.3g)",
        steps,
        schedule.sample_rate,
        noise_multiplier,
        epsilon,
        target_delta,
    )
    return PrivateTrainStats(
        num_examples=n,
        steps=steps,
        sample_rate=schedule.sample_rate,
        noise_multiplier=noise_multiplier,
        max_grad_norm=dp.max_grad_norm,
        target_delta=target_delta,
        epsilon=epsilon,
        mean_loss=mean_loss,
        seconds=time.perf_counter() - t0,
        canary_scores=tuple(audit.scores.tolist()) if audit is not None else None,
    )


def _gradient_canaries(
    spec: CanarySpec | None, model: CustomerSequenceModel, sample_rate: float
) -> GradientCanaries | None:
    if spec is None:
        return None
    return GradientCanaries(spec, model, sample_rate=sample_rate, generator=_os_seeded_generator())


def _collate(dataset: CustomerWindows, indices: list[int]) -> tuple[Tensor, ...]:
    items = [dataset[i] for i in indices]
    return tuple(torch.stack(column) for column in zip(*items, strict=True))


def _os_seeded_generator() -> torch.Generator:
    return torch.Generator().manual_seed(secrets.randbits(63))


@functools.cache
def _warn_secure_mode_unavailable() -> None:
    logger.warning(
        "DP noise and sampling come from PyTorch's non-cryptographic generator seeded from the "
        "OS: Opacus secure_mode is unavailable (torchcsprng has no wheel here). The guarantee "
        "holds against an adversary who cannot predict that generator; see docs/privacy.md."
    )
