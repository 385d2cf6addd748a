"""The two per-sample engines (``dp-engine``): the project's own and Opacus's compute the same
clipped sums and add noise of the same scale on the same batch."""

from __future__ import annotations

import copy

import pytest
import torch
from opacus.grad_sample import GradSampleModule
from opacus.optimizers import DPOptimizer

from insight.features import WindowSet
from insight.models import CustomerSequenceModel
from insight.training import CustomerWindows, TrainConfig, multitask_loss
from privacy import DPConfig, PrivacyConfigError, train_private
from privacy.clipping import noisy_average
from privacy.engines import make_step
from privacy.per_sample import PerSampleGradients

MAX_GRAD_NORM = 0.5  # small enough that most customers are clipped


def _batch(windows: WindowSet, size: int) -> tuple[torch.Tensor, ...]:
    dataset = CustomerWindows(windows, seed=3)
    items = [dataset[i] for i in range(size)]
    return tuple(torch.stack(column) for column in zip(*items, strict=True))


def _model() -> CustomerSequenceModel:
    torch.manual_seed(0)
    return CustomerSequenceModel()


def test_both_engines_give_the_same_clipped_sums(tiny_windows: WindowSet) -> None:
    batch = _batch(tiny_windows, 32)
    ours, theirs = _model(), None
    theirs = copy.deepcopy(ours)

    with PerSampleGradients(ours) as psg:
        sums, norms = psg.clipped_sum(
            multitask_loss(ours, batch, reduction="none"), max_grad_norm=MAX_GRAD_NORM
        )
    GradSampleModule(theirs, batch_first=True, loss_reduction="sum")
    optimizer = DPOptimizer(
        torch.optim.SGD(theirs.parameters(), lr=0.1),
        noise_multiplier=1.0,
        max_grad_norm=MAX_GRAD_NORM,
        expected_batch_size=None,
        loss_reduction="sum",
    )
    multitask_loss(theirs, batch, reduction="none").sum().backward()  # type: ignore[no-untyped-call]
    optimizer.clip_and_accumulate()

    assert int((norms > MAX_GRAD_NORM).sum()) > 16  # the clipping bound matters here
    for mine, param in zip(sums, optimizer.params, strict=True):
        torch.testing.assert_close(mine, param.summed_grad, rtol=1e-4, atol=1e-6)


def test_both_engines_add_noise_of_the_same_scale() -> None:
    sigma, model = 1.7, _model()
    params = [p for p in model.parameters() if p.requires_grad]
    zeros = [torch.zeros_like(p) for p in params]
    expected = sigma * MAX_GRAD_NORM

    ours = noisy_average(
        zeros,
        max_grad_norm=MAX_GRAD_NORM,
        noise_multiplier=sigma,
        expected_batch_size=1.0,
        generator=torch.Generator().manual_seed(1),
    )
    optimizer = DPOptimizer(
        torch.optim.SGD(params, lr=0.1),
        noise_multiplier=sigma,
        max_grad_norm=MAX_GRAD_NORM,
        expected_batch_size=None,
        loss_reduction="sum",
        generator=torch.Generator().manual_seed(2),
    )
    for p in optimizer.params:
        p.summed_grad = torch.zeros_like(p)
    optimizer.add_noise()
    theirs = [p.grad for p in optimizer.params]

    mine_std = float(torch.cat([n.flatten() for n in ours]).std())
    their_std = float(torch.cat([n.flatten() for n in theirs if n is not None]).std())
    assert sum(p.numel() for p in params) > 10_000
    assert mine_std == pytest.approx(expected, rel=0.03)
    assert their_std == pytest.approx(expected, rel=0.03)


@pytest.mark.parametrize("engine", ["fedinsight", "opacus"])
def test_train_private_runs_with_either_engine_and_leaves_no_hooks(
    tiny_windows: WindowSet, engine: str
) -> None:
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = TrainConfig(epochs=1, batch_size=16, learning_rate=1e-3, seed=0)
    dp = DPConfig(noise_multiplier=1.0, max_grad_norm=1.0, engine=engine)  # type: ignore[arg-type]

    stats = train_private(model, tiny_windows, config, dp, noise_multiplier=1.0)

    assert stats.steps == 4
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(
        hasattr(p, "grad_sample") and p.grad_sample is not None for p in model.parameters()
    )
    assert not model._forward_hooks and all(not m._forward_hooks for m in model.modules())


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(PrivacyConfigError, match="engine"):
        DPConfig(engine="jax")  # type: ignore[arg-type]
    with pytest.raises(PrivacyConfigError, match="engine"):
        make_step(
            "jax", _model(), torch.optim.SGD(_model().parameters(), lr=0.1),
            max_grad_norm=1.0, noise_multiplier=1.0, expected_batch_size=1.0,
            generator=torch.Generator(),
        )  # fmt: skip
