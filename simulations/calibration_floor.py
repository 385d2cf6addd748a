"""How well P(any purchase) can be calibrated on CDNOW's holdout with no DP and no partition.

    python -m simulations.calibration_floor [--epochs 10 20] [--seeds 42]

Issue 14 asks the demo's ``p_purchase`` (DP-trained at five partners) for a calibration error of
at most 0.03 over 10 equal-width bins on CDNOW's real holdout. This command measures the same
figure (``simulations.check_scores.calibration``) for models no partner could build, on every
customer of the bundled CDNOW file pooled, with the demo's periods and training windows
(``RunSettings()``: calibration to 1997-09-30, a 39-week holdout):

- BG/NBD fitted on the pooled calibration summary, the classical model (Fader, Hardie & Lee 2005);
- any trained model file given with ``--model`` (a demo run's ``model.pt``: the DP-trained
  global model, scored here on all customers rather than the consenting ones);
- the project's sequence model trained on the pooled customers without DP, for each of
  ``--epochs`` (10 is what the demo's partners make in all, 5 rounds of 2 epochs, and what the
  report's ``centralized`` baseline trains for) and each training seed of ``--seeds``.

Beside each holdout figure it prints the model's error on its own training windows (the largest
of the six horizons' errors): a model that fits the windows it was trained on and still misses
the holdout misses it by extrapolation. The training windows end at the close of calibration
with horizons of 6.5 to 26 weeks; the holdout forecast looks 39 weeks ahead, from customers
older than any seen with a long horizon. To tell the two apart it also scores, from the
holdout's cutoff, each training horizon (the holdout's first 6.5 to 26 weeks).

A researcher's check: it pools every customer on one machine, which no deployment does. Neither
the demo's DP noise nor its partition enters, so what it prints is a reference for the demo
(what the same model reaches without them), not a prediction of it nor a bound: one training
draw can land either side.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from federation import RunSettings, load_model_state
from insight import (
    CustomerSequenceModel,
    PartnerData,
    Periods,
    WindowSet,
    bgnbd_prob_any,
    calibration_summary,
    fit_bgnbd,
    holdout_targets,
    load_cdnow,
    predict,
    prepare_partner,
    train,
)
from insight.features import STATIC_FEATURES
from insight.metrics import roc_auc
from simulations.check_scores import calibration

_LOG_HORIZON = STATIC_FEATURES.index("log_horizon")


@dataclass(frozen=True)
class Floor:
    """One model's figures: holdout calibration error and AUC of P(any purchase), the worst
    training window's calibration error (None for BG/NBD, which has no windows), the bins, and
    the calibration error at the holdout's cutoff for each training horizon (``by_horizon``)."""

    model: str
    holdout_error: float
    holdout_auc: float
    worst_window_error: float | None
    bins: list[dict[str, Any]]
    by_horizon: list[dict[str, float]]


@functools.cache
def _cdnow() -> pd.DataFrame:
    """The bundled CDNOW events, read once."""
    return load_cdnow().events


def pooled(settings: RunSettings) -> PartnerData:
    """Every CDNOW customer as one party, with ``settings``' periods and windows."""
    events = _cdnow()
    events = events[events["timestamp"] <= settings.holdout_timestamp]
    return prepare_partner(
        "pooled", events, periods=settings.periods(), features=settings.feature_config()
    )


def window(ws: WindowSet, j: int) -> WindowSet:
    """The customers valid at window ``j`` of ``ws``, with that window only."""
    rows = ws.select(ws.valid[:, j])
    assert rows.count is not None and rows.spend is not None
    return WindowSet(
        customer_ids=rows.customer_ids,
        seq=rows.seq[:, j : j + 1],
        mask=rows.mask[:, j : j + 1],
        static=rows.static[:, j : j + 1],
        horizon=rows.horizon[:, j : j + 1],
        valid=rows.valid[:, j : j + 1],
        count=rows.count[:, j : j + 1],
        spend=rows.spend[:, j : j + 1],
    )


def training_horizons(data: PartnerData) -> list[float]:
    """The horizons (weeks) of ``data``'s training windows, shortest first."""
    return sorted({float(h) for h in data.train.horizon[0]})


Labels = dict[float, np.ndarray]


def horizon_labels(data: PartnerData, settings: RunSettings) -> Labels:
    """For each training horizon (weeks), 1.0 for each of ``data``'s scored customers with a
    purchase in that many weeks after the end of calibration (days rounded as the training
    windows round them), else 0.0: ``holdout_targets`` with a shorter holdout."""
    cutoff = settings.calibration_timestamp
    labels = {}
    for weeks in training_horizons(data):
        end = cutoff + pd.Timedelta(days=max(1, round(weeks * 7)))
        targets = holdout_targets(_cdnow(), Periods(cutoff, end, settings.start_timestamp))
        bought = targets["any_repeat"].reindex(data.predict.customer_ids, fill_value=False)
        labels[weeks] = bought.to_numpy(np.float64)
    return labels


def _by_horizon(probabilities: Labels, labels: Labels) -> list[dict[str, float]]:
    out = []
    for weeks, p in probabilities.items():
        bought = labels[weeks]
        error = calibration(p, bought)[0]
        out.append({"horizon_weeks": round(weeks, 2), "error": error,
                    "predicted": float(p.mean()), "bought": float(bought.mean())})  # fmt: skip
    return out


def _floor(
    model: str,
    p: np.ndarray,
    bought: np.ndarray,
    worst_window: float | None,
    by_horizon: list[dict[str, float]],
) -> Floor:
    error, bins = calibration(p, bought)
    for row in bins:
        row.pop("rows")
    return Floor(model, error, roc_auc(p, bought.astype(bool)), worst_window, bins, by_horizon)


def bgnbd_floor(data: PartnerData, settings: RunSettings, labels: Labels) -> Floor:
    """BG/NBD on the pooled calibration summary of ``data``'s customers."""
    summary = calibration_summary(_cdnow(), settings.periods()).reindex(data.predict.customer_ids)
    x, t_x, big_t = (summary[c].to_numpy(float) for c in ("x", "t_x", "T"))
    params = fit_bgnbd(x, t_x, big_t)
    p = bgnbd_prob_any(params, settings.holdout_weeks, x, t_x, big_t)
    bought = data.targets["any_repeat"].to_numpy(np.float64)
    shorter = {
        h: np.asarray(bgnbd_prob_any(params, h, x, t_x, big_t), np.float64)
        for h in training_horizons(data)
    }
    return _floor("bgnbd", np.asarray(p, np.float64), bought, None, _by_horizon(shorter, labels))


def sequence_floor(
    data: PartnerData, settings: RunSettings, labels: Labels, *, epochs: int, seed: int
) -> Floor:
    """The sequence model trained without DP on ``data`` for ``epochs`` (training seed ``seed``)."""
    torch.manual_seed(seed)
    model = CustomerSequenceModel()
    train(model, data.train, dataclasses.replace(settings.train_config(seed=seed), epochs=epochs))
    return _model_floor(f"sequence, no DP, {epochs} epochs, seed {seed}", model, data, labels)


def at_horizon(ws: WindowSet, weeks: float) -> WindowSet:
    """``ws`` (prediction windows) with every horizon set to ``weeks``: the horizon and its
    feature change, nothing else (``build_prediction_windows`` at ``weeks`` gives the same)."""
    static = ws.static.copy()
    static[:, :, _LOG_HORIZON] = np.log1p(weeks)
    return dataclasses.replace(ws, horizon=np.full_like(ws.horizon, weeks), static=static)


def _model_floor(
    name: str, model: CustomerSequenceModel, data: PartnerData, labels: Labels
) -> Floor:
    model.eval()
    worst = 0.0
    for j in range(data.train.horizon.shape[1]):
        ws = window(data.train, j)
        if ws.num_customers and ws.count is not None:
            inside = predict(model, ws).prob_any.astype(np.float64)
            worst = max(worst, calibration(inside, (ws.count[:, 0] > 0).astype(np.float64))[0])
    p = predict(model, data.predict).prob_any.astype(np.float64)
    bought = data.targets["any_repeat"].to_numpy(np.float64)
    shorter = {
        weeks: predict(model, at_horizon(data.predict, weeks)).prob_any.astype(np.float64)
        for weeks in labels
    }
    return _floor(name, p, bought, worst, _by_horizon(shorter, labels))


def model_floor(data: PartnerData, path: Path, labels: Labels) -> Floor:
    """A trained model's file (a run's ``model.pt``) on ``data``'s pooled customers."""
    model = CustomerSequenceModel()
    model.load_state_dict(load_model_state(path))
    return _model_floor(str(path), model, data, labels)


def _say(f: Floor, t0: float) -> None:
    worst = "" if f.worst_window_error is None else (
        f"; worst training window {f.worst_window_error:.4f}"
    )  # fmt: skip
    print(f"  {f.model}: error {f.holdout_error:.4f}, AUC {f.holdout_auc:.4f}{worst} "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--seeds", type=int, nargs="+", default=[RunSettings().seed])
    parser.add_argument(
        "--model", type=Path, action="append", default=[],
        help="also a trained model file, e.g. a demo run's model.pt (repeatable)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if min(args.epochs) < 1:
        parser.error("--epochs must be >= 1")
    for path in args.model:
        if not path.is_file():
            parser.error(f"--model {path}: no such file")
    settings = RunSettings()
    t0 = time.perf_counter()
    data = pooled(settings)
    weeks = settings.holdout_weeks
    print(f"{data.predict.num_customers:,} CDNOW customers pooled; holdout {weeks:.0f} weeks; "
          "P(any purchase) over 10 bins", flush=True)  # fmt: skip
    labels = horizon_labels(data, settings)
    floors = [bgnbd_floor(data, settings, labels)]
    _say(floors[0], t0)
    for path in args.model:
        floors.append(model_floor(data, path, labels))
        _say(floors[-1], t0)
    for seed in args.seeds:
        for epochs in args.epochs:
            floors.append(sequence_floor(data, settings, labels, epochs=epochs, seed=seed))
            _say(floors[-1], t0)
    for f in floors:
        print(f"{f.model}:")
        for row in f.bins:
            print(f"  {row['bin']}: {row['customers']:>6,} customers, predicted "
                  f"{row['predicted']:.3f}, bought {row['bought']:.3f}")  # fmt: skip
        for h in f.by_horizon:
            print(f"  at the holdout's cutoff, {h['horizon_weeks']:.1f} weeks ahead: error "
                  f"{h['error']:.4f}, mean predicted {h['predicted']:.3f}, bought "
                  f"{h['bought']:.3f}")  # fmt: skip
    print(json.dumps([{k: v for k, v in asdict(f).items() if k != "bins"} for f in floors]))


if __name__ == "__main__":
    main()
