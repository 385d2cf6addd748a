"""Integrated Gradients explanations: complete, grouped, with the documented baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from insight import (
    CustomerSequenceModel,
    FeatureConfig,
    Periods,
    TrainConfig,
    WindowSet,
    load_cdnow,
    prepare_partner,
    train,
)
from insight.features import STATIC_FEATURES
from insight.scoring import GROUPS, explain, top_drivers

PERIODS = Periods(pd.Timestamp("1997-09-30"), pd.Timestamp("1998-06-30"))


@pytest.fixture(scope="module")
def trained() -> tuple[CustomerSequenceModel, WindowSet]:
    events = load_cdnow().events
    keep = sorted(events["customer_id"].unique())[:500]
    data = prepare_partner(
        "p", events[events["customer_id"].isin(keep)], periods=PERIODS, features=FeatureConfig()
    )
    torch.manual_seed(0)
    model = CustomerSequenceModel()
    train(model, data.train, TrainConfig(epochs=2, batch_size=64))
    return model, data.predict


def _documented_baseline_output(model: CustomerSequenceModel, ws: WindowSet) -> np.ndarray:
    """f(baseline) built from the docs: mean static features (own horizon), mean step
    features on the real steps, padding unchanged."""
    seq = torch.from_numpy(ws.seq[:, 0])
    mask = torch.from_numpy(ws.mask[:, 0])
    static = torch.from_numpy(ws.static[:, 0])
    base_seq = torch.where(mask[..., None], seq[mask].mean(dim=0), seq)
    base_static = static.mean(dim=0).expand_as(static).clone()
    col = STATIC_FEATURES.index("log_horizon")
    base_static[:, col] = static[:, col]
    horizon = torch.from_numpy(ws.horizon[:, 0])
    with torch.no_grad():
        out = model.forecast(model(base_seq, mask, base_static), horizon).expected_purchases
    return out.double().numpy()


def test_attributions_are_complete_for_every_customer(
    trained: tuple[CustomerSequenceModel, WindowSet],
) -> None:
    model, ws = trained
    ex = explain(model, ws)
    gap = ex.groups.sum(axis=1) - (ex.output - _documented_baseline_output(model, ws))
    assert ex.groups.shape == (ws.num_customers, len(GROUPS))
    assert (np.abs(gap) <= 1e-3 * np.abs(ex.output)).all()
    assert (np.abs(ex.delta) <= 1e-3 * np.abs(ex.output)).all()


def test_one_integration_pass_is_not_always_enough_so_some_are_refined(
    trained: tuple[CustomerSequenceModel, WindowSet],
) -> None:
    model, ws = trained
    coarse = explain(model, ws, steps=(4,))
    assert (np.abs(coarse.delta) > 1e-3 * np.abs(coarse.output)).any()


def test_frequency_drives_the_heaviest_buyer_up(
    trained: tuple[CustomerSequenceModel, WindowSet],
) -> None:
    model, ws = trained
    ex = explain(model, ws)
    heaviest = int(np.argmax(ws.static[:, 0, STATIC_FEATURES.index("log_repeat_count")]))
    assert ex.groups[heaviest, GROUPS.index("frequency")] > 0
    importance = ex.global_importance()
    assert set(importance) == set(GROUPS) and max(importance, key=importance.get) == "frequency"


def test_top_drivers_name_three_groups_with_signs_in_words() -> None:
    groups = np.array([[0.0, 1.234, -0.5, 0.0, 0.01, -0.2], [0.0, 0.0, 0.0, 0.0, 0.0, 0.001]])
    words = top_drivers(groups)
    assert words[0] == (
        "number of purchases +1.23; time as a customer -0.50; time of year of past purchases -0.20"
    )
    assert words[1] == "close to the average customer"
