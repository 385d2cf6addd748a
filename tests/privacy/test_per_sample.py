"""Per-customer gradients: equal to Opacus's, per customer, and refused for unsupported layers."""

from __future__ import annotations

import pytest
import torch
from opacus.grad_sample import prepare_module
from torch import Tensor, nn

from insight.features import WindowSet
from insight.models import CustomerSequenceModel
from insight.training import multitask_loss
from privacy import PrivacyError, UnsupportedModelError
from privacy.clipping import clip_and_sum
from privacy.per_sample import PerSampleGradients


def _batch(windows: WindowSet, size: int, window: int = 0) -> tuple[Tensor, ...]:
    assert windows.count is not None and windows.spend is not None
    fields = (windows.seq, windows.mask, windows.static, windows.horizon)
    labels = (windows.count, windows.spend)
    return tuple(torch.from_numpy(f[:size, window]) for f in (*fields, *labels))


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
def test_per_sample_gradients_equal_opacus_grad_sample(tiny_windows: WindowSet) -> None:
    torch.manual_seed(0)
    model = CustomerSequenceModel()
    reference = CustomerSequenceModel()
    reference.load_state_dict(model.state_dict())
    batch = _batch(tiny_windows, 16)

    with PerSampleGradients(model) as psg:
        ours = psg.compute(multitask_loss(model, batch, reduction="none"))
    hooks = prepare_module(
        reference, grad_sample_mode="hooks", wrap_model=False, loss_reduction="sum"
    )
    multitask_loss(reference, batch, reduction="none").sum().backward()  # type: ignore[no-untyped-call]
    theirs = [p.grad_sample for p in reference.parameters()]  # type: ignore[attr-defined]
    hooks.cleanup()

    assert len(ours) == len(theirs)
    for mine, expected in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, expected, rtol=1e-4, atol=1e-6)


def test_a_customers_gradient_depends_on_that_customer_only(tiny_windows: WindowSet) -> None:
    torch.manual_seed(0)
    model = CustomerSequenceModel()
    batch = _batch(tiny_windows, 8)
    changed = tuple(t.clone() for t in batch)
    changed[0][3] += 5.0  # customer 3's sequence
    changed[4][3] += 7.0  # and its label

    with PerSampleGradients(model) as psg:
        before = psg.compute(multitask_loss(model, batch, reduction="none"))
        after = psg.compute(multitask_loss(model, changed, reduction="none"))

    for b, a in zip(before, after, strict=True):
        torch.testing.assert_close(b[:3], a[:3])
        torch.testing.assert_close(b[4:], a[4:])
    assert any(not torch.allclose(b[3], a[3]) for b, a in zip(before, after, strict=True))


@pytest.mark.parametrize("max_grad_norm", [0.05, 1e3])
def test_clipped_sum_equals_clipping_the_materialised_gradients(
    tiny_windows: WindowSet, max_grad_norm: float
) -> None:
    torch.manual_seed(0)
    model = CustomerSequenceModel()
    batch = _batch(tiny_windows, 16)

    with PerSampleGradients(model) as psg:
        sums, norms = psg.clipped_sum(
            multitask_loss(model, batch, reduction="none"), max_grad_norm=max_grad_norm
        )
        want_sums, want_norms = clip_and_sum(
            psg.compute(multitask_loss(model, batch, reduction="none")),
            max_grad_norm=max_grad_norm,
        )

    torch.testing.assert_close(norms, want_norms, rtol=1e-5, atol=1e-7)
    for got, want in zip(sums, want_sums, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_conv1d_kernels_and_paddings_match_one_example_at_a_time() -> None:
    torch.manual_seed(2)
    model = nn.Sequential(
        nn.Conv1d(3, 4, 5, padding=0),
        nn.Conv1d(4, 4, 3, padding=2),
        nn.Conv1d(4, 2, 1, bias=False),
        nn.Conv1d(2, 2, 3, padding=4),
    )
    x = torch.randn(4, 3, 9)

    with PerSampleGradients(model) as psg:
        ours = psg.compute(model(x).pow(2).sum(dim=(1, 2)))
        params = psg.params

    for i in range(x.shape[0]):
        grads = torch.autograd.grad(model(x[i : i + 1]).pow(2).sum(), params)
        for mine, expected in zip(ours, grads, strict=True):
            torch.testing.assert_close(mine[i], expected, rtol=1e-5, atol=1e-6)


class _Reused(nn.Module):
    """A layer applied twice, a LayerNorm over a 3-d input, and one unused head."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Linear(4, 4)
        self.norm = nn.LayerNorm(4)
        self.unused = nn.Linear(4, 1)
        self.frozen = nn.Linear(4, 4)
        self.frozen.requires_grad_(False)

    def forward(self, x: Tensor) -> Tensor:
        h = self.norm(self.inner(torch.tanh(self.inner(x))))
        out: Tensor = self.frozen(h).pow(2).sum(dim=(1, 2))
        return out


def test_reused_unused_and_frozen_layers_match_one_example_at_a_time() -> None:
    torch.manual_seed(1)
    model = _Reused()
    x = torch.randn(5, 3, 4)

    with PerSampleGradients(model) as psg:
        ours = psg.compute(model(x))
        params = psg.params

    assert all(p.requires_grad for p in params)
    assert len(params) == 6  # inner, norm, unused: weight and bias each; frozen excluded
    for i in range(x.shape[0]):
        grads = torch.autograd.grad(model(x[i : i + 1]).sum(), params, allow_unused=True)
        for mine, expected, param in zip(ours, grads, params, strict=True):
            want = torch.zeros_like(param) if expected is None else expected
            torch.testing.assert_close(mine[i], want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("layer", "name"),
    [
        (nn.BatchNorm1d(4), "BatchNorm1d"),
        (nn.Embedding(10, 4), "Embedding"),
        (nn.Conv1d(4, 4, 3, stride=2), "stride 1"),
        (nn.Conv1d(4, 4, 3, padding="same"), "integer zero padding"),
    ],
)
def test_unsupported_layers_are_refused_by_name(layer: nn.Module, name: str) -> None:
    model = nn.Sequential(nn.Linear(4, 4), layer)
    with pytest.raises(UnsupportedModelError, match=name):
        PerSampleGradients(model)


def test_compute_outside_the_with_block_is_an_error() -> None:
    psg = PerSampleGradients(nn.Linear(2, 1))
    with pytest.raises(PrivacyError, match="with"):
        psg.compute(torch.zeros(3))
