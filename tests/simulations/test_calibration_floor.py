"""simulations/calibration_floor.py: P(any purchase)'s calibration without DP or partition."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from federation import RunSettings
from insight import (
    CustomerSequenceModel,
    PartnerData,
    build_prediction_windows,
    collapse_daily,
    load_cdnow,
    prepare_partner,
    truncate_events,
)
from simulations.calibration_floor import (
    Floor,
    Labels,
    at_horizon,
    bgnbd_floor,
    horizon_labels,
    main,
    model_floor,
    sequence_floor,
    training_horizons,
    window,
)
from simulations.check_scores import holdout_purchase_days


@pytest.fixture(scope="module")
def small() -> PartnerData:
    """The first 1,500 CDNOW customers, with the demo's periods and windows."""
    settings = RunSettings()
    events = load_cdnow().events
    ids = set(events["customer_id"].drop_duplicates().iloc[:1500])
    return prepare_partner(
        "small",
        events[events["customer_id"].isin(ids)],
        periods=settings.periods(),
        features=settings.feature_config(),
    )


@pytest.fixture(scope="module")
def labels(small: PartnerData) -> Labels:
    return horizon_labels(small, RunSettings())


def _bins_agree(f: Floor, customers: int) -> None:
    """The bins cover every customer once and weigh up to the printed error."""
    assert sum(b["customers"] for b in f.bins) == customers
    weighted = sum(b["customers"] * abs(b["predicted"] - b["bought"]) for b in f.bins)
    assert f.holdout_error == pytest.approx(weighted / customers, abs=1e-3)


def _horizons_agree(f: Floor, data: PartnerData, labels: Labels) -> None:
    """One row per training horizon, shortest first; a longer horizon can only add buyers, and
    the process forecasts more of them; the share bought is the labels'."""
    rows = f.by_horizon
    assert [r["horizon_weeks"] for r in rows] == [round(h, 2) for h in training_horizons(data)]
    assert all(a["bought"] <= b["bought"] for a, b in itertools.pairwise(rows))
    assert all(a["predicted"] < b["predicted"] for a, b in itertools.pairwise(rows))
    assert [r["bought"] for r in rows] == [float(labels[h].mean()) for h in labels]


def test_horizon_labels_are_the_buyers_of_each_horizons_first_weeks(
    small: PartnerData, labels: Labels
) -> None:
    settings = RunSettings()
    cutoff = settings.calibration_timestamp
    assert list(labels) == training_horizons(small)
    for weeks, bought in labels.items():
        end = cutoff + pd.Timedelta(days=round(weeks * 7))
        days = holdout_purchase_days(load_cdnow().events, str(cutoff.date()), str(end.date()))
        expected = pd.Series(small.predict.customer_ids).map(days).fillna(0) > 0
        np.testing.assert_array_equal(bought, expected.to_numpy(np.float64))
    # The longest is a part of the 39-week holdout's buyers.
    longest = labels[max(labels)].astype(bool)
    assert not (longest & ~small.targets["any_repeat"].to_numpy(bool)).any()


def test_at_horizon_is_the_prediction_window_built_at_that_horizon(small: PartnerData) -> None:
    settings = RunSettings()
    calibration = truncate_events(
        collapse_daily(load_cdnow().events), settings.calibration_timestamp
    )
    calibration = calibration[calibration["customer_id"].isin(set(small.predict.customer_ids))]
    built = build_prediction_windows(
        calibration,
        calibration_end=settings.calibration_timestamp,
        horizon_weeks=10.0,
        config=settings.feature_config(),
    )
    moved = at_horizon(small.predict, 10.0)
    np.testing.assert_array_equal(moved.customer_ids, built.customer_ids)
    for field in ("seq", "mask", "static", "horizon", "valid"):
        np.testing.assert_array_equal(getattr(moved, field), getattr(built, field), err_msg=field)
    assert not np.array_equal(small.predict.horizon, moved.horizon)  # the original is untouched


def test_window_keeps_one_window_of_its_valid_customers(small: PartnerData) -> None:
    ws = small.train
    assert ws.count is not None
    for j in range(ws.horizon.shape[1]):
        one = window(ws, j)
        assert one.num_customers == int(ws.valid[:, j].sum())
        assert one.seq.shape[1] == 1 and bool(one.valid.all())
        assert one.count is not None
        np.testing.assert_array_equal(one.count[:, 0], ws.count[ws.valid[:, j], j])
        assert set(one.horizon[:, 0]) == {ws.horizon[0, j]}


def test_sequence_floor_reports_its_holdout_and_training_windows(
    small: PartnerData, labels: Labels
) -> None:
    f = sequence_floor(small, RunSettings(), labels, epochs=1, seed=3)

    _bins_agree(f, small.predict.num_customers)
    assert 0.6 < f.holdout_auc <= 1.0  # repeats order customers even after one epoch
    assert f.worst_window_error is not None and 0.0 <= f.worst_window_error < 1.0
    assert f.model == "sequence, no DP, 1 epochs, seed 3"
    _horizons_agree(f, small, labels)


def test_bgnbd_floor_scores_the_same_customers(small: PartnerData, labels: Labels) -> None:
    f = bgnbd_floor(small, RunSettings(), labels)

    _bins_agree(f, small.predict.num_customers)
    assert f.worst_window_error is None
    _horizons_agree(f, small, labels)
    assert 0.6 < f.holdout_auc <= 1.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--epochs", "0"], "--epochs must be >= 1"), (["--model", "nope.pt"], "no such file")],
)
def test_bad_arguments_are_refused_before_any_work(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_model_floor_scores_a_saved_model_as_sequence_floor_would(
    small: PartnerData, labels: Labels, tmp_path: Path
) -> None:
    torch.manual_seed(5)
    path = tmp_path / "model.pt"
    torch.save(CustomerSequenceModel().state_dict(), path)

    f = model_floor(small, path, labels)

    _bins_agree(f, small.predict.num_customers)
    assert f.model == str(path)
    assert f.worst_window_error is not None and f.worst_window_error > 0.0
    _horizons_agree(f, small, labels)
