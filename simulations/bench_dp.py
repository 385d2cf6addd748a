"""Benchmark of the DP-SGD step for the project model, and the demo schedule's epsilon.

Run ``python -m simulations.bench_dp`` (``--synthetic`` skips loading CDNOW, ``--quick`` is a
smoke run, ``--utility`` also trains on CDNOW privately three ways and compares holdout metrics).

Step timing: one optimiser step of ``insight.CustomerSequenceModel`` on a fixed batch of CDNOW
windows (L = 32 events), for the non-private step and for each way of computing the DP step,
all at the same batch size, one intra-op thread, interleaved (each repeat times every mode in
turn) in one process, so the ratios are comparable even on a shared machine; the figures are
medians. ``check`` is the largest difference between a mode's noiseless clipped gradient and
``privacy``'s own, which shows every mode computes the same DP-SGD step.
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
import torch
from opacus import PrivacyEngine
from opacus.grad_sample import prepare_module
from opacus.optimizers import DPOptimizer, DPOptimizerFastGradientClipping
from opacus.utils.fast_gradient_clipping_utils import DPLossFastGradientClipping
from rich.console import Console
from rich.table import Table
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap
from torch.utils.data import DataLoader

from federation import RunSettings, dp_terms
from insight import (
    CustomerSequenceModel,
    WindowSet,
    evaluate_model,
    load_cdnow,
    partition_customers,
    prepare_partner,
    train,
)
from insight.features import STATIC_FEATURES, STEP_FEATURES
from insight.pipeline import PartnerData
from insight.training import CustomerWindows, TrainConfig, multitask_loss
from privacy import (
    DPConfig,
    RoundSchedule,
    calibrate_noise,
    epsilon_for,
    round_schedule,
    train_private,
)
from privacy.clipping import noisy_average, private_gradients
from privacy.per_sample import PerSampleGradients

Batch = tuple[Tensor, ...]
Step = Callable[[], None]
MAX_GRAD_NORM = 1.0
CHOSEN = "privacy (layer hooks)"
UTILITY_METRICS = ("auc_any_repeat", "mae_purchases", "corr_purchases")


@dataclass(frozen=True)
class Mode:
    """A way to take one optimiser step; ``build(noise_multiplier, lr)`` returns the step and
    the model it updates."""

    name: str
    build: Callable[[Batch, float, float], tuple[Step, nn.Module]]


def _model() -> CustomerSequenceModel:
    torch.manual_seed(0)
    return CustomerSequenceModel()


def _adamw(model: nn.Module, lr: float) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-5)


def _plain(batch: Batch, sigma: float, lr: float) -> tuple[Step, nn.Module]:
    model = _model()
    optimizer = _adamw(model, lr)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        multitask_loss(model, batch).backward()  # type: ignore[no-untyped-call]
        optimizer.step()

    return step, model


def _ours(batch: Batch, sigma: float, lr: float) -> tuple[Step, nn.Module]:
    model = _model()
    optimizer = _adamw(model, lr)
    psg = PerSampleGradients(model).__enter__()
    generator = torch.Generator().manual_seed(1)
    size = float(batch[0].shape[0])

    def step() -> None:  # the step of privacy.train_private
        optimizer.zero_grad(set_to_none=True)
        losses = multitask_loss(model, batch, reduction="none")
        sums, _ = psg.clipped_sum(losses, max_grad_norm=MAX_GRAD_NORM)
        grads = noisy_average(
            sums,
            max_grad_norm=MAX_GRAD_NORM,
            noise_multiplier=sigma,
            expected_batch_size=size,
            generator=generator,
        )
        for param, g in zip(psg.params, grads, strict=True):
            param.grad = g
        optimizer.step()

    return step, model


def _opacus(mode: str) -> Callable[[Batch, float, float], tuple[Step, nn.Module]]:
    """Opacus's grad sampler ``mode`` with its DPOptimizer. "ew" (expanded weights) works on a
    wrapped forward instead of hooks on the model."""

    def build(batch: Batch, sigma: float, lr: float) -> tuple[Step, nn.Module]:
        model = _model()
        forward: CustomerSequenceModel = model
        if mode == "ew":
            forward = cast(
                CustomerSequenceModel, _Forward(prepare_module(model, grad_sample_mode=mode))
            )
        else:
            prepare_module(model, grad_sample_mode=mode, wrap_model=False)
        optimizer = DPOptimizer(
            _adamw(model, lr),
            noise_multiplier=sigma,
            max_grad_norm=MAX_GRAD_NORM,
            expected_batch_size=int(batch[0].shape[0]),
        )

        def step() -> None:
            optimizer.zero_grad(set_to_none=True)
            multitask_loss(forward, batch).backward()  # type: ignore[no-untyped-call]
            optimizer.step()

        return step, model

    return build


class _Forward:
    """What ``multitask_loss`` needs of a model, around a forward that lacks ``forecast``."""

    forecast = staticmethod(CustomerSequenceModel.forecast)

    def __init__(self, forward: Callable[..., Tensor]) -> None:
        self.forward = forward

    def __call__(self, *args: Tensor) -> Tensor:
        return self.forward(*args)


class _GhostCriterion:
    """Opacus's ghost-clipping loss wrapper sets ``reduction`` to "none" and calls this."""

    def __init__(self, model: CustomerSequenceModel) -> None:
        self.model = model
        self.reduction = "mean"

    def __call__(self, batch: Batch) -> Tensor:
        return multitask_loss(self.model, batch, reduction=self.reduction)


def _opacus_ghost(batch: Batch, sigma: float, lr: float) -> tuple[Step, nn.Module]:
    model = _model()
    hooks = prepare_module(
        model,
        grad_sample_mode="ghost",
        wrap_model=False,
        max_grad_norm=MAX_GRAD_NORM,
        loss_reduction="mean",
    )
    optimizer = DPOptimizerFastGradientClipping(
        _adamw(model, lr),
        noise_multiplier=sigma,
        max_grad_norm=MAX_GRAD_NORM,
        expected_batch_size=int(batch[0].shape[0]),
    )
    criterion = DPLossFastGradientClipping(hooks, optimizer, _GhostCriterion(model), "mean")

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        criterion(batch).backward()
        optimizer.step()

    return step, model


def _vmap(batch: Batch, sigma: float, lr: float) -> tuple[Step, nn.Module]:
    model = _model()
    optimizer = _adamw(model, lr)
    names = [name for name, _ in model.named_parameters()]
    params = [p for _, p in model.named_parameters()]
    generator = torch.Generator().manual_seed(1)
    size = float(batch[0].shape[0])

    def one_loss(values: list[Tensor], *example: Tensor) -> Tensor:
        single = tuple(t.unsqueeze(0) for t in example)
        seq, mask, static, horizon, count, spend = single
        out = functional_call(model, dict(zip(names, values, strict=True)), (seq, mask, static))
        shim = cast(CustomerSequenceModel, _Forward(lambda *_: out))
        return multitask_loss(shim, (seq, mask, static, horizon, count, spend)).sum()

    per_example = vmap(grad(one_loss), in_dims=(None, 0, 0, 0, 0, 0, 0))

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        per_sample = per_example([p.detach() for p in params], *batch)
        grads = private_gradients(
            per_sample,
            max_grad_norm=MAX_GRAD_NORM,
            noise_multiplier=sigma,
            expected_batch_size=size,
            generator=generator,
        )
        for param, g in zip(params, grads, strict=True):
            param.grad = g
        optimizer.step()

    return step, model


MODES = [
    Mode("non-private", _plain),
    Mode(CHOSEN, _ours),
    Mode("opacus hooks", _opacus("hooks")),
    Mode("opacus functorch", _opacus("functorch")),
    Mode("opacus ew", _opacus("ew")),
    Mode("opacus ghost", _opacus_ghost),
    Mode("torch.func vmap(grad)", _vmap),
]


def _noiseless_gradient(mode: Mode, batch: Batch) -> list[Tensor]:
    step, model = mode.build(batch, 0.0, 0.0)
    step()
    return [p.grad.detach().clone() for p in model.parameters() if p.grad is not None]


@dataclass
class StepResult:
    mode: str
    batch_size: int
    seconds: float = math.nan
    ratio: float = math.nan
    check: float = math.nan
    error: str = ""


def time_steps(
    batch: Batch, *, repeats: int, steps: int, modes: Sequence[Mode] = MODES
) -> list[StepResult]:
    """Median seconds per step of each mode, interleaved; ``ratio`` is over the non-private."""
    size = int(batch[0].shape[0])
    results = {m.name: StepResult(m.name, size) for m in modes}
    reference = _noiseless_gradient(modes[1], batch)
    runners: dict[str, Step] = {}
    for mode in modes:
        try:
            if mode.name != "non-private":
                got = _noiseless_gradient(mode, batch)
                results[mode.name].check = max(
                    float((a - b).abs().max()) for a, b in zip(got, reference, strict=True)
                )
            step, _ = mode.build(batch, 1.0, 1e-3)
            step()  # warm-up
            runners[mode.name] = step
        except Exception as exc:  # a mode that cannot run this model is a finding, not a crash
            results[mode.name].error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:70]}"
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, step in runners.items():
            start = time.perf_counter()
            for _ in range(steps):
                step()
            samples[name].append((time.perf_counter() - start) / steps)
    base = statistics.median(samples["non-private"])
    for name, values in samples.items():
        results[name].seconds = statistics.median(values)
        results[name].ratio = results[name].seconds / base
    return list(results.values())


def _batch(windows: WindowSet, size: int, seed: int = 0) -> Batch:
    assert windows.count is not None and windows.spend is not None
    rng = np.random.default_rng(seed)
    rows = rng.choice(windows.num_customers, size=size, replace=False)
    cols = np.array([rng.choice(np.flatnonzero(windows.valid[r])) for r in rows])
    fields = (windows.seq, windows.mask, windows.static, windows.horizon)
    return tuple(
        torch.from_numpy(np.ascontiguousarray(f[rows, cols]))
        for f in (*fields, windows.count, windows.spend)
    )


def _synthetic_windows(num_customers: int, length: int, seed: int = 0) -> WindowSet:
    rng = np.random.default_rng(seed)
    n, k = num_customers, 1
    mask = np.arange(length)[None, None, :] < rng.integers(1, length + 1, size=(n, k, 1))
    seq = rng.normal(size=(n, k, length, len(STEP_FEATURES))).astype(np.float32)
    count = rng.poisson(0.7, size=(n, k)).astype(np.float32)
    return WindowSet(
        customer_ids=np.array([f"s{i}" for i in range(n)]),
        seq=seq * mask[..., None],
        mask=mask,
        static=rng.normal(size=(n, k, len(STATIC_FEATURES))).astype(np.float32),
        horizon=rng.uniform(6.0, 26.0, size=(n, k)).astype(np.float32),
        valid=np.ones((n, k), dtype=bool),
        count=count,
        spend=count * np.float32(35.0),
    )


@dataclass(frozen=True)
class PartnerPlan:
    name: str
    customers: int
    sample_rate: float
    steps_per_round: int
    noise_multiplier: float
    epsilon_by_round: list[float]
    epsilon_prv: float


def demo_plan(settings: RunSettings, sizes: dict[str, int]) -> list[PartnerPlan]:
    """Each partner's sigma and cumulative epsilon per round under the demo's DP settings."""
    plans = []
    config = settings.train_config(seed=settings.seed)
    accountant = dp_terms(settings).accountant
    for name, n in sizes.items():
        schedule = RoundSchedule.for_customers(n, config)
        delta = DPConfig(target_delta=settings.target_delta).delta_for(n)
        total = schedule.steps * settings.num_server_rounds
        sigma = settings.noise_multiplier or calibrate_noise(
            target_epsilon=settings.target_epsilon,
            target_delta=delta,
            sample_rate=schedule.sample_rate,
            steps=total,
            accountant=accountant,
        )
        by_round = [
            epsilon_for(
                [(sigma, schedule.sample_rate, schedule.steps)] * r,
                target_delta=delta,
                accountant="rdp",
            )
            for r in range(1, settings.num_server_rounds + 1)
        ]
        prv = epsilon_for(
            [(sigma, schedule.sample_rate, total)], target_delta=delta, accountant="prv"
        )
        plans.append(
            PartnerPlan(name, n, schedule.sample_rate, schedule.steps, sigma, by_round, prv)
        )
    return plans


def _utility(data: PartnerData, settings: RunSettings, console: Console) -> Table:
    """Holdout metrics after non-private, ``privacy.train_private`` and an all-Opacus run."""
    config = replace(settings.train_config(seed=7), epochs=1)
    schedule = round_schedule(data.train, config)
    sigma = calibrate_noise(
        target_epsilon=settings.target_epsilon,
        target_delta=1e-5,
        sample_rate=schedule.sample_rate,
        steps=schedule.steps,
        accountant="rdp",
    )
    dp = DPConfig(noise_multiplier=sigma, max_grad_norm=settings.max_grad_norm)
    table = Table(
        title=f"utility on CDNOW, 1 epoch, batch {config.batch_size}, sigma {sigma:.3f}, "
        f"max_grad_norm {dp.max_grad_norm:g}, epsilon {settings.target_epsilon}"
    )
    table.add_column("training")
    for column in ("seconds", *UTILITY_METRICS):
        table.add_column(column, justify="right")
    runs: list[tuple[str, Callable[[CustomerSequenceModel], object]]] = [
        ("non-private", lambda m: train(m, data.train, config)),
        (CHOSEN, lambda m: train_private(m, data.train, config, dp, noise_multiplier=sigma)),
        ("opacus hooks + DPOptimizer", lambda m: _train_opacus(m, data.train, config, dp)),
    ]
    for name, run in runs:
        console.log(f"utility: training {name}")
        model = _model()
        start = time.perf_counter()
        run(model)
        seconds = time.perf_counter() - start
        metrics = evaluate_model(model, data)
        table.add_row(
            name,
            f"{seconds:.1f}",
            *(f"{metrics.get(k, math.nan):.4f}" for k in UTILITY_METRICS),
        )
    return table


def _train_opacus(
    model: CustomerSequenceModel, windows: WindowSet, config: TrainConfig, dp: DPConfig
) -> None:
    """The reference: Opacus's PrivacyEngine end to end (Poisson DataLoader, hooks, DPOptimizer)."""
    dataset = CustomerWindows(windows, seed=config.seed)
    loader: DataLoader[Any] = DataLoader(dataset, batch_size=config.batch_size, shuffle=True)
    engine = PrivacyEngine(accountant="rdp")
    _, optimizer, private_loader = engine.make_private(
        module=model,
        optimizer=_adamw(model, config.learning_rate),
        data_loader=loader,
        noise_multiplier=dp.noise_multiplier,
        max_grad_norm=dp.max_grad_norm,
        wrap_model=False,
    )
    model.train()
    for epoch in range(config.epochs):
        dataset.reseed(config.seed * 1000 + epoch)
        for batch in private_loader:
            if batch[0].shape[0] == 0:
                continue
            optimizer.zero_grad(set_to_none=True)
            multitask_loss(model, tuple(batch)).backward()  # type: ignore[no-untyped-call]
            optimizer.step()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed sample")
    parser.add_argument("--synthetic", action="store_true", help="synthetic windows, no CDNOW")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few repeats")
    parser.add_argument("--utility", action="store_true", help="also compare holdout metrics")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.steps = 2, 1
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore", module="opacus")
    warnings.filterwarnings("ignore", message="Full backward hook is firing")
    torch.set_num_threads(1)
    console = Console()
    settings = RunSettings()

    events = None
    if args.synthetic:
        windows = _synthetic_windows(max(args.batch_sizes) * 4, settings.max_events)
    else:
        events = load_cdnow().events
        data = prepare_partner(
            "cdnow", events, periods=settings.periods(), features=settings.feature_config()
        )
        windows = data.train
    table = Table(
        title="DP step / non-private step, CustomerSequenceModel, one thread, interleaved medians"
    )
    for column in ("mode", "batch", "ms/step", "x non-private", "check"):
        table.add_column(column, justify="right" if column != "mode" else "left")
    for size in args.batch_sizes:
        for r in time_steps(_batch(windows, size), repeats=args.repeats, steps=args.steps):
            if r.error:
                table.add_row(r.mode, str(size), "-", "-", f"fails: {r.error}")
                continue
            check = "" if math.isnan(r.check) else f"{r.check:.1e}"
            table.add_row(r.mode, str(size), f"{r.seconds * 1e3:.2f}", f"{r.ratio:.2f}", check)
    console.print(table)

    sizes = _demo_sizes(settings, events, windows)
    plan = Table(
        title=(
            f"demo schedule: {settings.num_server_rounds} rounds x {settings.local_epochs} "
            f"epochs, batch {settings.batch_size}, target epsilon {settings.target_epsilon} "
            f"(delta {settings.target_delta:g}), budget {settings.epsilon_budget}"
        )
    )
    for column in ("partner", "customers", "q", "steps/round", "sigma", "RDP eps by round", "PRV"):
        plan.add_column(column, justify="right" if column != "partner" else "left")
    for p in demo_plan(settings, sizes):
        plan.add_row(
            p.name,
            str(p.customers),
            f"{p.sample_rate:.4f}",
            str(p.steps_per_round),
            f"{p.noise_multiplier:.3f}",
            " ".join(f"{e:.2f}" for e in p.epsilon_by_round),
            f"{p.epsilon_prv:.2f}",
        )
    console.print(plan)
    if args.utility and not args.synthetic:
        console.print(_utility(data, settings, console))


def _demo_sizes(settings: RunSettings, events: Any, windows: WindowSet) -> dict[str, int]:
    if events is None:
        return {"synthetic": windows.num_customers}
    part = partition_customers(
        events,
        settings.split,
        num_partners=settings.num_partners,
        seed=settings.seed,
        calibration_end=settings.calibration_timestamp,
    )
    trainable = set(windows.customer_ids[windows.valid.any(axis=1)].tolist())
    return {
        name: sum(1 for c in ids.tolist() if c in trainable) for name, ids in part.partners.items()
    }


if __name__ == "__main__":
    main()
