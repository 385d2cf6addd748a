"""Canary customers for the one-run privacy audit, and their scores under a trained model.

A canary is a made-up customer built to be as easy to recognise as a member as the model
allows:

- its inputs are unusual and its own: 1 to 7 purchases before the earliest training cutoff,
  at random days, with amounts and quantities far above a retail customer's (log-uniform), so
  no two canaries look alike and none looks like a real customer;
- its label is a coin flip, drawn apart from its inclusion: a *loud* canary comes back for a
  burst of 6 to 15 large purchases after the latest training cutoff (every training window's
  label is that burst); a *quiet* one never comes back. The burst lies after every cutoff, so
  both versions of a canary have the same inputs and differ only in the label.

Because the labels are random, a model can only fit a canary's own label by remembering that
canary. The score of a canary is how much better the model fits its own label than the other
one (``loss(other version) - loss(own version)``), standardised within the loud and within the
quiet canaries (whose scales differ): high means "trained on".

Each canary is included in training with probability 1/2, independently and seeded
(``privacy.canary_audit`` turns the scores into an ε lower bound).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from insight.features import FeatureConfig, training_cutoffs
from insight.models import CustomerSequenceModel
from insight.pipeline import prepare_partner
from insight.protocol import Periods
from privacy.errors import PrivacyError
from privacy.mia import customer_losses

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

CANARY_PREFIX = "canary-"
_EARLY = (1, 8)  # purchases before the earliest cutoff: [low, high)
_BURST = (6, 16)  # a loud canary's purchases after the latest cutoff: [low, high)
_AMOUNT = (200.0, 20_000.0)  # per purchase, log-uniform (CDNOW's median is about 30)
_QUANTITY = (10.0, 500.0)


@dataclass(frozen=True)
class CanarySet:
    """``customer_ids[i]`` is canary i; ``included[i]``: trained on; ``loud[i]``: its label.

    ``events`` holds every canary's own version (insert only the included ones), ``other``
    every canary's opposite-label version (never trained on; for scoring only).
    """

    customer_ids: npt.NDArray[np.str_]
    included: BoolArray
    loud: BoolArray
    events: pd.DataFrame
    other: pd.DataFrame

    @property
    def count(self) -> int:
        return int(self.customer_ids.size)

    def included_events(self) -> pd.DataFrame:
        chosen = set(self.customer_ids[self.included].tolist())
        return self.events[self.events["customer_id"].isin(chosen)]


def make_canaries(count: int, *, periods: Periods, features: FeatureConfig, seed: int) -> CanarySet:
    """``count`` canaries with calibration events only; inclusion and labels seeded by ``seed``.

    Requires ``count >= 2`` and ``periods.calibration_start`` (the windows must be cut from a
    public date, else canaries would move the real customers' windows).
    """
    if count < 2:
        raise PrivacyError(f"the audit needs at least 2 canaries, got {count}")
    start = periods.calibration_start
    if start is None:
        raise PrivacyError("the privacy audit needs a calibration-start date")
    end = periods.calibration_end
    cuts = [c for c, _ in training_cutoffs(end, start, features)]
    earliest, latest = min(cuts), max(cuts)
    early_days = int((earliest - start) / pd.Timedelta(days=1)) + 1  # start..earliest cutoff
    burst_days = int((end - latest) / pd.Timedelta(days=1))  # latest cutoff+1..end
    if early_days < _EARLY[1] or burst_days < _BURST[1]:
        raise PrivacyError("the calibration period is too short to place canary purchases")
    rng = np.random.default_rng([seed, 0xCA9A])
    included = rng.random(count) < 0.5
    loud = rng.random(count) < 0.5
    ids = np.array([f"{CANARY_PREFIX}{i:06d}" for i in range(count)])
    own: list[pd.DataFrame] = []
    other: list[pd.DataFrame] = []
    for i in range(count):
        early = _purchases(rng, ids[i], start, early_days, rng.integers(*_EARLY))
        burst = _purchases(rng, ids[i], latest + pd.Timedelta(days=1), burst_days,
                           rng.integers(*_BURST))  # fmt: skip
        with_burst = pd.concat([early, burst], ignore_index=True)
        own.append(with_burst if loud[i] else early)
        other.append(early if loud[i] else with_burst)
    return CanarySet(
        customer_ids=ids,
        included=included,
        loud=loud,
        events=pd.concat(own, ignore_index=True),
        other=pd.concat(other, ignore_index=True),
    )


def _purchases(
    rng: np.random.Generator, customer: str, first: pd.Timestamp, span_days: int, n: int | np.int64
) -> pd.DataFrame:
    days = np.sort(rng.choice(span_days, size=int(n), replace=False))
    return pd.DataFrame(
        {
            "customer_id": customer,
            "timestamp": first + pd.to_timedelta(days, unit="D"),
            "quantity": np.round(_log_uniform(rng, _QUANTITY, int(n))),
            "amount": np.round(_log_uniform(rng, _AMOUNT, int(n)), 2),
        }
    )


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float], n: int) -> FloatArray:
    low, high = (float(v) for v in np.log(np.asarray(bounds)))
    out: FloatArray = np.exp(rng.uniform(low, high, size=n))
    return out


def canary_scores(
    model: CustomerSequenceModel,
    canaries: CanarySet,
    *,
    periods: Periods,
    features: FeatureConfig,
) -> FloatArray:
    """Each canary's membership score under ``model`` (higher: more likely trained on), in
    ``canaries.customer_ids`` order."""
    own = _losses(model, canaries.events, canaries.customer_ids, periods, features)
    other = _losses(model, canaries.other, canaries.customer_ids, periods, features)
    raw = other - own
    out = np.zeros_like(raw)
    for group in (canaries.loud, ~canaries.loud):
        if group.any():
            values = raw[group]
            q1, median, q3 = np.percentile(values, [25, 50, 75])
            out[group] = (values - median) / max(float(q3 - q1), 1e-12)
    return out


def _losses(
    model: CustomerSequenceModel,
    events: pd.DataFrame,
    ids: npt.NDArray[np.str_],
    periods: Periods,
    features: FeatureConfig,
) -> FloatArray:
    windows = prepare_partner("canaries", events, periods=periods, features=features).train
    by_id = dict(zip(windows.customer_ids.tolist(), customer_losses(model, windows), strict=True))
    missing = [c for c in ids.tolist() if c not in by_id]
    if missing:
        raise PrivacyError(f"{len(missing)} canaries have no training window")
    return np.array([by_id[c] for c in ids.tolist()], dtype=np.float64)
