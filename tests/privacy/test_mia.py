"""The loss-threshold membership-inference attack on tiny cases."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from insight.models import CustomerSequenceModel
from insight.training import multitask_loss
from privacy import PrivacyError, membership_inference_auc
from privacy.mia import customer_losses
from tests.privacy.conftest import synthetic_windows


def test_the_same_customers_on_both_sides_give_an_auc_of_one_half() -> None:
    windows = synthetic_windows(30)
    assert membership_inference_auc(CustomerSequenceModel(), windows, windows) == 0.5


def test_an_overfit_model_gives_its_members_away() -> None:
    torch.manual_seed(0)
    members = synthetic_windows(24, num_windows=1, seed=1)
    others = synthetic_windows(24, num_windows=1, seed=2)
    model = CustomerSequenceModel()
    assert members.count is not None and members.spend is not None
    fields = (members.seq, members.mask, members.static, members.horizon)
    batch = tuple(torch.from_numpy(f[:, 0]) for f in (*fields, members.count, members.spend))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(200):  # full-batch steps until the members are memorised
        optimizer.zero_grad()
        multitask_loss(model, batch).backward()  # type: ignore[no-untyped-call]
        optimizer.step()

    assert membership_inference_auc(model, members, others) > 0.75


def test_a_customers_loss_averages_its_valid_windows_only() -> None:
    windows = synthetic_windows(5, num_windows=3)
    valid = windows.valid.copy()
    valid[0, 1:] = False
    model = CustomerSequenceModel()
    one_window = dataclasses.replace(windows, valid=valid)
    first_only = dataclasses.replace(
        windows,
        **{
            name: getattr(windows, name)[:, :1]
            for name in ("seq", "mask", "static", "horizon", "valid", "count", "spend")
        },
    )

    losses = customer_losses(model, one_window)

    assert losses[0] == pytest.approx(customer_losses(model, first_only)[0], rel=1e-6)
    assert np.isfinite(losses).all() and losses.shape == (5,)


def test_unlabelled_windows_are_refused() -> None:
    windows = dataclasses.replace(synthetic_windows(4), count=None, spend=None)
    with pytest.raises(PrivacyError, match="labelled"):
        membership_inference_auc(CustomerSequenceModel(), windows, windows)
