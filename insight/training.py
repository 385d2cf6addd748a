"""Local training and prediction for the sequence model.

The unit of a training example is one customer: each epoch draws one of the customer's valid
windows at random. A batch therefore holds distinct customers, which is what per-customer
differential privacy (``privacy/``) needs: a per-sample gradient is a per-customer gradient.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from insight.features import WindowSet
from insight.models import CustomerSequenceModel

logger = logging.getLogger(__name__)

SPEND_SCALE = 100.0  # dollars; keeps the spend term of the loss on the scale of the others


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 2
    batch_size: int = 256
    learning_rate: float = 3e-3
    weight_decay: float = 1e-5
    seed: int = 0


@dataclass(frozen=True)
class TrainStats:
    num_examples: int
    steps: int
    mean_loss: float
    seconds: float


class CustomerWindows(Dataset[tuple[Tensor, ...]]):
    """One item per customer; each access draws one of its valid windows (seeded per epoch)."""

    def __init__(self, windows: WindowSet, seed: int = 0) -> None:
        if windows.count is None or windows.spend is None:
            raise ValueError("training needs labelled windows (build_training_windows)")
        ws = windows.trainable()
        self.seq = torch.from_numpy(ws.seq)
        self.mask = torch.from_numpy(ws.mask)
        self.static = torch.from_numpy(ws.static)
        self.horizon = torch.from_numpy(ws.horizon)
        assert ws.count is not None and ws.spend is not None
        self.count = torch.from_numpy(ws.count)
        self.spend = torch.from_numpy(ws.spend)
        self._valid_idx = [np.flatnonzero(v) for v in ws.valid]
        self._rng = np.random.default_rng(seed)
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Fix this epoch's window choice per customer."""
        rng = np.random.default_rng(seed)
        self._choice = np.array([rng.choice(v) for v in self._valid_idx], dtype=np.int64)

    def __len__(self) -> int:
        return len(self._valid_idx)

    def __getitem__(self, i: int) -> tuple[Tensor, ...]:
        j = int(self._choice[i])
        return (
            self.seq[i, j],
            self.mask[i, j],
            self.static[i, j],
            self.horizon[i, j],
            self.count[i, j],
            self.spend[i, j],
        )


def multitask_loss(
    model: CustomerSequenceModel, batch: tuple[Tensor, ...], reduction: str = "mean"
) -> Tensor:
    """Bernoulli NLL of any purchase + Poisson NLL of purchases + Poisson quasi-NLL of spend."""
    seq, mask, static, horizon, count, spend = batch
    fc = model.forecast(model(seq, mask, static), horizon)
    p = fc.prob_any.clamp(1e-6, 1 - 1e-6)
    bought = (count > 0).to(p.dtype)
    nll_any = -(bought * torch.log(p) + (1 - bought) * torch.log1p(-p))
    mean_n = fc.expected_purchases.clamp(min=1e-6)
    nll_count = mean_n - count * torch.log(mean_n)
    mean_s = (fc.expected_spend / SPEND_SCALE).clamp(min=1e-6)
    nll_spend = mean_s - (spend / SPEND_SCALE) * torch.log(mean_s)
    per_example = nll_any + nll_count + nll_spend
    if reduction == "none":
        return per_example
    return per_example.mean()


def make_loader(
    dataset: CustomerWindows, batch_size: int, seed: int
) -> DataLoader[tuple[Tensor, ...]]:
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=gen)


def train(
    model: CustomerSequenceModel,
    windows: WindowSet,
    config: TrainConfig,
    *,
    make_optimizer: Callable[[nn.Module], torch.optim.Optimizer] | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
    on_gradients: Callable[[int], None] | None = None,
) -> TrainStats:
    """Train ``model`` in place on labelled ``windows`` for ``config.epochs`` epochs.

    ``on_gradients(batch_size)`` runs after each backward pass, before the optimiser's step
    (the privacy audit's gradient canaries use it).
    """
    import time

    torch.manual_seed(config.seed)
    dataset = CustomerWindows(windows, seed=config.seed)
    loader = make_loader(dataset, config.batch_size, config.seed)
    optimizer = (
        make_optimizer(model)
        if make_optimizer
        else torch.optim.AdamW(
            model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
    )
    model.train()
    t0 = time.perf_counter()
    steps, total, seen = 0, 0.0, 0
    for epoch in range(config.epochs):
        dataset.reseed(config.seed * 1000 + epoch)
        epoch_loss, epoch_n = 0.0, 0
        for batch in loader:
            optimizer.zero_grad(set_to_none=True)
            loss = multitask_loss(model, batch)
            loss.backward()  # type: ignore[no-untyped-call]
            n = int(batch[0].shape[0])
            if on_gradients:
                on_gradients(n)
            optimizer.step()
            steps += 1
            epoch_loss += float(loss.detach()) * n
            epoch_n += n
        total += epoch_loss
        seen += epoch_n
        if on_epoch:
            on_epoch(epoch, epoch_loss / max(epoch_n, 1))
    mean_loss = total / max(seen, 1)
    if not math.isfinite(mean_loss):
        raise FloatingPointError("training diverged (non-finite loss)")
    return TrainStats(
        num_examples=len(dataset),
        steps=steps,
        mean_loss=mean_loss,
        seconds=time.perf_counter() - t0,
    )


@dataclass(frozen=True)
class Predictions:
    customer_ids: np.ndarray
    prob_any: np.ndarray
    expected_purchases: np.ndarray
    expected_spend: np.ndarray


def _batches(windows: WindowSet, batch_size: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, windows.num_customers, batch_size):
        yield lo, min(lo + batch_size, windows.num_customers)


@torch.no_grad()
def predict(
    model: CustomerSequenceModel, windows: WindowSet, batch_size: int = 2048
) -> Predictions:
    """Forecast each customer's first window (prediction windows have exactly one)."""
    model.eval()
    outs: list[tuple[Tensor, Tensor, Tensor]] = []
    for lo, hi in _batches(windows, batch_size):
        seq = torch.from_numpy(windows.seq[lo:hi, 0])
        mask = torch.from_numpy(windows.mask[lo:hi, 0])
        static = torch.from_numpy(windows.static[lo:hi, 0])
        horizon = torch.from_numpy(windows.horizon[lo:hi, 0])
        fc = model.forecast(model(seq, mask, static), horizon)
        outs.append((fc.prob_any, fc.expected_purchases, fc.expected_spend))
    return Predictions(
        customer_ids=windows.customer_ids,
        prob_any=torch.cat([o[0] for o in outs]).numpy(),
        expected_purchases=torch.cat([o[1] for o in outs]).numpy(),
        expected_spend=torch.cat([o[2] for o in outs]).numpy(),
    )
