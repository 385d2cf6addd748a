"""A synthetic federation: customers drawn from BG/NBD and gamma-gamma models fitted to CDNOW.

The generative process, per customer, on CDNOW's calendar (weeks from 1997-01-01):

1. The first purchase falls uniformly in the first 12 weeks (CDNOW's cohort bought first in
   1997-Q1).
2. While active, the customer buys as a Poisson process of rate ``lambda ~ Gamma(r, alpha)``
   per week; after each repeat purchase they drop out for good with probability
   ``p ~ Beta(a, b)`` (BG/NBD, Fader, Hardie & Lee 2005). Purchases stop at week 78
   (1998-06-30), the end of CDNOW's holdout.
3. Every purchase is worth ``z ~ Gamma(shape p_gg, rate nu)``, with the customer's
   ``nu ~ Gamma(shape q, rate gamma)`` (gamma-gamma), rounded to cents; its quantity is
   ``max(1, round(z / unit_price))``, CDNOW's spend per unit.
4. Customers are dealt to partners by a multinomial draw over partner shares
   ``~ Dirichlet(skew, ..., skew)``: a small ``skew`` gives partners of very different sizes,
   a large one nearly equal partners. Behaviour does not depend on the partner.

The parameters are this project's maximum-likelihood fits on the bundled CDNOW master file
(23,570 customers, calibration to 1997-09-30); ``tests/insight/test_datasets_synthetic.py``
refits them and checks they still match. Output is deterministic in the seed: partner ``i``
draws from its own stream ``(seed, i)``, so one partner's events never depend on how many
events another drew, and the file is written one partner at a time (one Parquet row group
each), holding at most one partner's events in memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from insight.errors import InsightError
from insight.files import replace_atomically

__all__ = [
    "CDNOW_BGNBD",
    "CDNOW_GAMMA_GAMMA",
    "CDNOW_UNIT_PRICE",
    "SYNTHETIC_START",
    "SyntheticSpec",
    "SyntheticSummary",
    "write_synthetic",
]

# Measured with `python -c "..."` fitting insight.baselines.fit_bgnbd / fit_gamma_gamma to
# calibration_summary(load_cdnow().events, default_periods("cdnow")); gamma-gamma over
# customers with positive mean spend, x + 1 purchase days each (see the test that refits).
CDNOW_BGNBD = {"r": 0.2516, "alpha": 4.7889, "a": 0.7234, "b": 2.1611}
CDNOW_GAMMA_GAMMA = {"p": 10.830, "q": 3.2671, "gamma": 6.9325}
CDNOW_UNIT_PRICE = 14.89  # CDNOW's total spend over total units

SYNTHETIC_START = pd.Timestamp("1997-01-01")
_COHORT_WEEKS = 12.0
_HORIZON_WEEKS = (pd.Timestamp("1998-06-30") - SYNTHETIC_START).days / 7.0
_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("timestamp", pa.timestamp("ns")),
        ("quantity", pa.float64()),
        ("amount", pa.float64()),
        ("partner", pa.string()),
    ]
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SyntheticSpec:
    """What to generate: ``customers`` over ``partners``, shares skewed by ``skew``."""

    customers: int
    partners: int
    skew: float = 1.0
    seed: int = 42

    def validate(self) -> None:
        """Raise `InsightError` for a spec that cannot be generated."""
        if self.customers < 1:
            raise InsightError(f"synthetic customers must be >= 1, not {self.customers}")
        if self.partners < 1:
            raise InsightError(f"synthetic partners must be >= 1, not {self.partners}")
        if self.partners > self.customers:
            raise InsightError(
                f"{self.partners} synthetic partners need as many customers, not {self.customers}"
            )
        if not (self.skew > 0 and math.isfinite(self.skew)):
            raise InsightError(f"synthetic skew must be a positive number, not {self.skew}")

    @property
    def file_name(self) -> str:
        """A file name that identifies the spec (generated files are reused by name)."""
        return (
            f"synthetic-c{self.customers}-p{self.partners}-s{self.skew:g}-seed{self.seed}.parquet"
        )


@dataclass(frozen=True)
class SyntheticSummary:
    """Customers and events written per partner (partner names in file order)."""

    customers: dict[str, int]
    events: dict[str, int]


def partner_name(index: int, partners: int) -> str:
    """``partner-007``: zero-padded so that names sort in index order."""
    return f"partner-{index:0{max(3, len(str(partners - 1)))}d}"


def partner_sizes(spec: SyntheticSpec) -> IntArray:
    """Customers per partner: multinomial over Dirichlet(skew) shares, each partner >= 1."""
    rng = np.random.default_rng([spec.seed, 0x5EED])
    shares = rng.dirichlet(np.full(spec.partners, spec.skew))
    # Every partner holds one customer; the rest are dealt by the shares.
    rest = rng.multinomial(spec.customers - spec.partners, shares)
    return (rest + 1).astype(np.int64)


def _purchase_times(rng: np.random.Generator, n: int) -> tuple[IntArray, FloatArray]:
    """(customer index, week) of every purchase of ``n`` customers, first purchases included."""
    bg = CDNOW_BGNBD
    rate = rng.gamma(bg["r"], 1.0 / bg["alpha"], n)
    dropout = rng.beta(bg["a"], bg["b"], n)
    clock = rng.uniform(0.0, _COHORT_WEEKS, n)
    owners: list[IntArray] = [np.arange(n, dtype=np.int64)]
    weeks: list[FloatArray] = [clock.copy()]
    alive = np.arange(n, dtype=np.int64)
    while alive.size:
        # A rate of exactly 0 (gamma underflow) never buys again.
        gaps = rng.exponential(1.0, alive.size) / np.maximum(rate[alive], 1e-300)
        later = clock[alive] + gaps
        inside = later <= _HORIZON_WEEKS
        alive = alive[inside]
        clock[alive] = later[inside]
        owners.append(alive)
        weeks.append(clock[alive].copy())
        alive = alive[rng.random(alive.size) >= dropout[alive]]
    return np.concatenate(owners), np.concatenate(weeks)


def _partner_events(spec: SyntheticSpec, index: int, first_id: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng([spec.seed, index + 1])
    owner, week = _purchase_times(rng, n)
    gg = CDNOW_GAMMA_GAMMA
    nu = rng.gamma(gg["q"], 1.0 / gg["gamma"], n)
    value = np.round(rng.gamma(gg["p"], 1.0 / nu[owner]), 2)
    order = np.lexsort((week, owner))
    owner, week, value = owner[order], week[order], value[order]
    days = np.floor(week * 7.0).astype("timedelta64[D]")
    return pd.DataFrame(
        {
            "customer_id": np.char.add("c", (owner + first_id).astype(str)).astype(object),
            "timestamp": (np.datetime64(SYNTHETIC_START.date(), "D") + days).astype(
                "datetime64[ns]"
            ),
            "quantity": np.maximum(1.0, np.round(value / CDNOW_UNIT_PRICE)),
            "amount": value,
            "partner": partner_name(index, spec.partners),
        }
    )


def write_synthetic(
    spec: SyntheticSpec,
    path: Path,
    *,
    on_partner: Callable[[int, int], None] | None = None,
) -> SyntheticSummary:
    """Generate ``spec``'s federation into one Parquet file at ``path`` (atomically, 0600).

    Columns: the event schema's four plus ``partner``; one row group per partner.
    ``on_partner(done, total)`` is called after each partner is written (progress bars).

    Raises:
        InsightError: for an invalid spec.
    """
    spec.validate()
    sizes = partner_sizes(spec)
    customers: dict[str, int] = {}
    events: dict[str, int] = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with replace_atomically(path) as handle, pq.ParquetWriter(handle, _SCHEMA) as writer:
        first_id = 0
        for index, size in enumerate(sizes.tolist()):
            frame = _partner_events(spec, index, first_id, size)
            writer.write_table(pa.Table.from_pandas(frame, schema=_SCHEMA, preserve_index=False))
            name = partner_name(index, spec.partners)
            customers[name], events[name] = size, len(frame)
            first_id += size
            if on_partner is not None:
                on_partner(index + 1, spec.partners)
    return SyntheticSummary(customers=customers, events=events)
