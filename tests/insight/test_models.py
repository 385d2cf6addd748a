"""The sequence model: shapes, sane forecasts, and layers Opacus can wrap."""

from __future__ import annotations

import torch

from insight.features import STATIC_FEATURES, STEP_FEATURES
from insight.models import CustomerSequenceModel, architecture_hash


def _batch(b: int = 5, length: int = 7) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    seq = torch.randn(b, length, len(STEP_FEATURES))
    mask = torch.ones(b, length, dtype=torch.bool)
    mask[0, 3:] = False
    return seq, mask, torch.randn(b, len(STATIC_FEATURES))


def test_forward_returns_four_process_parameters_per_customer() -> None:
    out = CustomerSequenceModel()(*_batch())
    assert out.shape == (5, 4)


def test_forecasts_are_valid_and_grow_with_the_horizon() -> None:
    model = CustomerSequenceModel()
    params = model(*_batch())
    short = model.forecast(params, torch.full((5,), 4.0))
    long = model.forecast(params, torch.full((5,), 39.0))
    assert torch.all((long.prob_any >= 0) & (long.prob_any <= 1))
    assert torch.all(long.expected_purchases >= short.expected_purchases)
    assert torch.all(long.prob_any >= short.prob_any)
    assert torch.all(long.expected_spend >= 0)


def test_padding_does_not_change_the_output() -> None:
    model = CustomerSequenceModel().eval()
    seq, mask, static = _batch(1, 4)
    padded_seq = torch.cat([seq, torch.randn(1, 3, seq.shape[-1])], dim=1)
    padded_mask = torch.cat([mask, torch.zeros(1, 3, dtype=torch.bool)], dim=1)
    torch.testing.assert_close(model(seq, mask, static), model(padded_seq, padded_mask, static))


def test_model_uses_only_layers_opacus_supports() -> None:
    from opacus.validators import ModuleValidator

    assert ModuleValidator.validate(CustomerSequenceModel(), strict=False) == []


def test_architecture_hash_ignores_weights_but_not_shape() -> None:
    from insight.models import ModelConfig

    a, b = CustomerSequenceModel(), CustomerSequenceModel()
    assert architecture_hash(a) == architecture_hash(b)
    assert architecture_hash(a) != architecture_hash(CustomerSequenceModel(ModelConfig(hidden=16)))


def test_rate_scales_with_the_customers_own_history() -> None:
    """With the head's weights at zero, log lam is its bias plus log(1 + x): a customer with 4x
    the (1 + repeats) gets 4x the rate, however far beyond the training range, and the other
    three parameters do not move."""
    model = CustomerSequenceModel().eval()
    with torch.no_grad():
        model.head.weight.zero_()
    seq, mask, static = _batch(2)
    repeats = STATIC_FEATURES.index("log_repeat_count")
    static[0, repeats] = torch.log1p(torch.tensor(9.0))
    static[1, repeats] = torch.log1p(torch.tensor(39.0))
    params = model(seq, mask, static)
    bias = model.head.bias.detach()
    torch.testing.assert_close(params[:, [0, 2, 3]], bias[[0, 2, 3]].expand(2, 3))
    torch.testing.assert_close(params[:, 1], bias[1] + torch.log(torch.tensor([10.0, 40.0])))
    lam = torch.exp(params[:, 1])
    torch.testing.assert_close(lam[1] / lam[0], torch.tensor(4.0))
