"""Split one event table into simulated partners, by customer (a customer lives at one partner).

Split specs:

- ``iid``: customers shuffled and dealt out evenly.
- ``dirichlet:<alpha>``: size and behaviour skew. Customers are bucketed by how often they bought
  in the calibration period; each bucket is shared out with proportions drawn from
  Dirichlet(alpha). Small alpha gives partners of very different size and clientele.
- ``column:<name>``: one partner per value of an extra column (e.g. ``column:Country``), the
  customer going to the value on most of its events; the ``num_partners - 1`` largest values get
  their own partner and the rest share one called ``other``. A value becomes a partner name that
  is safe as a witness-key name and a folder name: every run of characters other than letters,
  digits, ``.``, ``_`` and ``-`` turns into ``-`` ("United Kingdom" -> "United-Kingdom"); a
  value that would then clash with another, or is left empty, gets a short hash of the value.

A partner left with fewer than ``min_customers`` customers is reported and left out.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from insight.errors import InsightError

logger = logging.getLogger(__name__)

StrArray = npt.NDArray[np.str_]


@dataclass(frozen=True)
class Partition:
    """Customer ids per partner (sorted partner names), and the partners left out with sizes."""

    partners: dict[str, StrArray]
    left_out: dict[str, int] = field(default_factory=dict)


def partition_customers(
    events: pd.DataFrame,
    split: str,
    *,
    num_partners: int,
    seed: int,
    calibration_end: pd.Timestamp,
    min_customers: int = 50,
) -> Partition:
    """Assign each customer of ``events`` to one partner. Deterministic in ``seed``.

    Only calibration events (on or before ``calibration_end``) inform the split.
    """
    if num_partners < 1:
        raise InsightError("the number of partners must be >= 1")
    cal = events[events["timestamp"] <= calibration_end]
    if cal.empty:
        raise InsightError("no events on or before the end of calibration to split")
    rng = np.random.default_rng(seed)
    kind, _, arg = split.partition(":")
    if kind == "iid":
        groups = _iid(cal, num_partners, rng)
    elif kind == "dirichlet":
        groups = _dirichlet(cal, num_partners, rng, _parse_alpha(arg or "1.0", split))
    elif kind == "column":
        groups = _by_column(cal, num_partners, arg, split)
    else:
        raise InsightError(
            f"unknown split {split!r}: use 'iid', 'dirichlet:<alpha>' or 'column:<name>'"
        )
    kept: dict[str, StrArray] = {}
    left_out: dict[str, int] = {}
    for name, ids in sorted(groups.items()):
        if len(ids) < min_customers:
            left_out[name] = len(ids)
            logger.warning(
                "partner %s has %d customers (< %d): left out", name, len(ids), min_customers
            )
        else:
            kept[name] = np.sort(ids)
    if not kept:
        raise InsightError(
            f"split {split!r} left no partner with at least {min_customers} customers"
        )
    return Partition(partners=kept, left_out=left_out)


def _names(n: int) -> list[str]:
    width = len(str(n - 1))
    return [f"partner-{i:0{width}d}" for i in range(n)]


def _customers(cal: pd.DataFrame) -> StrArray:
    return np.unique(cal["customer_id"].to_numpy(dtype=str))


def _iid(cal: pd.DataFrame, n: int, rng: np.random.Generator) -> dict[str, StrArray]:
    ids = rng.permutation(_customers(cal))
    return dict(zip(_names(n), np.array_split(ids, n), strict=True))


def _parse_alpha(text: str, split: str) -> float:
    try:
        alpha = float(text)
    except ValueError as exc:
        raise InsightError(f"split {split!r}: alpha must be a number") from exc
    if not alpha > 0:
        raise InsightError(f"split {split!r}: alpha must be > 0")
    return alpha


def _dirichlet(
    cal: pd.DataFrame, n: int, rng: np.random.Generator, alpha: float
) -> dict[str, StrArray]:
    days = cal.assign(day=cal["timestamp"].dt.normalize()).drop_duplicates(["customer_id", "day"])
    freq = days.groupby("customer_id").size().sort_index()
    bucket = np.minimum(freq.to_numpy() - 1, 3)  # 0, 1, 2, 3+ repeat purchases
    ids = freq.index.to_numpy(dtype=str)
    assigned = np.empty(len(ids), dtype=np.int64)
    for b in np.unique(bucket):
        members = np.flatnonzero(bucket == b)
        proportions = rng.dirichlet(np.full(n, alpha))
        assigned[members] = rng.choice(n, size=len(members), p=proportions)
    names = _names(n)
    return {names[k]: ids[assigned == k] for k in range(n)}


def _by_column(cal: pd.DataFrame, n: int, column: str, split: str) -> dict[str, StrArray]:
    if not column:
        raise InsightError(f"split {split!r}: name a column, e.g. 'column:Country'")
    if column not in cal.columns:
        raise InsightError(
            f"split {split!r}: the data has no column {column!r} "
            f"(columns: {', '.join(map(str, cal.columns))})"
        )
    main_value = (
        cal.groupby(["customer_id", column])
        .size()
        .reset_index(name="n")
        .sort_values(["customer_id", "n", column], ascending=[True, False, True])
        .drop_duplicates("customer_id")
        .set_index("customer_id")[column]
        .astype(str)
    )
    sizes = main_value.value_counts()
    own = list(sizes.index[: n - 1]) if len(sizes) > n else list(sizes.index)
    label = main_value.where(main_value.isin(own), "other")
    names = _safe_names([str(v) for v in label.unique()])
    return {names[str(v)]: label.index[label == v].to_numpy(dtype=str) for v in label.unique()}


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_names(values: list[str]) -> dict[str, str]:
    """A partner name per column value: safe as a key name and a folder name, and distinct."""
    slugs = {v: _UNSAFE.sub("-", v).strip("-.") for v in values}
    counts = Counter(slugs.values())
    out = {}
    for value, slug in slugs.items():
        if not slug or counts[slug] > 1:
            digest = hashlib.sha256(value.encode()).hexdigest()[:8]
            slug = f"{slug}-{digest}" if slug else f"value-{digest}"
        out[value] = slug
    return out
