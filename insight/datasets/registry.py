"""The data sets `load_dataset` knows by name: each one's loader, default periods and help.

Default calibration / holdout periods, and each calibration's public start (training windows
are cut from it, never from a partner's earliest event; events before it are dropped):

* ``cdnow``: the 39-week calibration (1997-01-01 to 1997-09-30) and 39-week holdout
  (1997-10-01 to 1998-06-30) of Fader, Hardie & Lee (2005), calibration starting 1997-01-01,
  the panel's first day. Every customer's first purchase lies in 1997-Q1, so the whole panel
  is the calibration cohort. The 1/10 sample
  (`load_cdnow_sample`) is part of the same panel and uses the same periods.
* ``online-retail``: calibration 2010-12-01 to 2011-06-30 (30 weeks), holdout 2011-07-01 to
  2011-12-09 (23 weeks, to the last day of the 2010-2011 release); calibration starts
  2010-12-01, the first day of that release. The split leaves a
  calibration long enough to observe repeat behaviour for most of the cohort and a holdout
  that covers the autumn trading peak, the part of the year a wholesaler most wants
  forecast; calibration sees only one December, so the model cannot learn that seasonality
  from it, which is the honest setting for a forecast. For Online Retail II, which starts in
  2009-12, these defaults still apply: its first year is before calibration-start and is
  dropped (give an earlier ``calibration-start`` to keep it).
* ``synthetic``: a generated federation (`insight.datasets.synthetic`) on CDNOW's calendar,
  so CDNOW's periods.
* ``csv``: the user's own table, so no default; the dates must be given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from insight.datasets.cdnow import load_cdnow
from insight.datasets.online_retail import load_online_retail
from insight.datasets.table import ColumnMapping, load_table
from insight.errors import InsightError
from insight.protocol import Periods
from insight.schema import EventTable

__all__ = [
    "DATASET_REGISTRY",
    "Dataset",
    "default_periods",
    "find_dataset",
    "load_dataset",
    "parse_columns",
]

# Loads a data set from the user's file (None: the bundled copy, where there is one) through
# a column mapping (``"field=column,..."``, used by ``csv`` only).
Loader = Callable[[Path | None, str], EventTable]

_MAPPED_FIELDS = ("customer_id", "timestamp", "quantity", "amount", "date_format")
_CANONICAL = "customer_id=customer_id,timestamp=timestamp,quantity=quantity,amount=amount"


@dataclass(frozen=True)
class Dataset:
    """A data set known by name.

    `periods` is None where the data is the user's own (no default can fit it).
    """

    name: str
    help: str
    loader: Loader
    periods: Periods | None

    def load(self, path: str | Path | None = None, columns: str = "") -> EventTable:
        """The data set's events, from `path` (see `help` for when one is needed)."""
        return self.loader(Path(path) if path else None, columns)


def parse_columns(spec: str) -> dict[str, str]:
    """``"customer_id=Cust,timestamp=Date"`` -> mapping of event field to source column."""
    fields: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not value:
            raise InsightError(f"column mapping {part!r} is not of the form field=column")
        fields[key.strip()] = value.strip()
    unknown = set(fields) - set(_MAPPED_FIELDS)
    if unknown:
        raise InsightError(f"column mapping names unknown field(s): {', '.join(sorted(unknown))}")
    return fields


def _load_cdnow(path: Path | None, columns: str) -> EventTable:
    return load_cdnow(path)


def _load_online_retail(path: Path | None, columns: str) -> EventTable:
    if path is None:
        raise InsightError(
            "the online-retail dataset is not bundled: pass the path of your download"
        )
    return load_online_retail(path)


def _load_synthetic(path: Path | None, columns: str) -> EventTable:
    if path is None:
        raise InsightError(
            "the synthetic dataset is generated first (fedinsight simulate --dataset synthetic "
            "--customers N): pass the generated file's path"
        )
    mapping = ColumnMapping(
        customer_id="customer_id",
        timestamp="timestamp",
        quantity="quantity",
        amount="amount",
        extra=("partner",),
    )
    return load_table(path, mapping)


def _load_csv(path: Path | None, columns: str) -> EventTable:
    if path is None:
        raise InsightError("the csv dataset needs the path of a CSV or Parquet file")
    given = parse_columns(columns)
    fields = parse_columns(_CANONICAL) | given
    mapping = ColumnMapping(
        customer_id=fields["customer_id"],
        timestamp=fields["timestamp"],
        quantity=fields["quantity"],
        amount=fields["amount"],
        date_format=fields.get("date_format"),
        # A visit log may have neither: only columns the user mapped must be there.
        optional=tuple(f for f in ("quantity", "amount") if f not in given),
    )
    return load_table(path, mapping)


_CDNOW_PERIODS = Periods(
    pd.Timestamp("1997-09-30"), pd.Timestamp("1998-06-30"), pd.Timestamp("1997-01-01")
)

DATASET_REGISTRY: Mapping[str, Dataset] = MappingProxyType(
    {
        dataset.name: dataset
        for dataset in (
            Dataset(
                "cdnow",
                "the CDNOW master file (bundled; or give its path)",
                _load_cdnow,
                _CDNOW_PERIODS,
            ),
            Dataset(
                "online-retail",
                "UCI Online Retail or Online Retail II (.xlsx, .csv or .parquet; give its path)",
                _load_online_retail,
                Periods(
                    pd.Timestamp("2011-06-30"),
                    pd.Timestamp("2011-12-09"),
                    pd.Timestamp("2010-12-01"),
                ),
            ),
            Dataset(
                "synthetic",
                "a generated federation fitted to CDNOW (simulate makes it from --customers, "
                "--partners, --skew and --seed; or give a generated file's path)",
                _load_synthetic,
                _CDNOW_PERIODS,
            ),
            Dataset(
                "csv",
                "your own CSV or Parquet table (give its path, and its columns if their "
                "names differ from the event schema's)",
                _load_csv,
                None,
            ),
        )
    }
)
"""Every data set known by name, in the order help lists them."""


def find_dataset(name: str) -> Dataset:
    """The data set called `name`.

    Raises:
        InsightError: for a name the registry does not hold, listing those it does.
    """
    try:
        return DATASET_REGISTRY[name]
    except KeyError:
        names = list(DATASET_REGISTRY)
        listed = f"{', '.join(names[:-1])} or {names[-1]}"
        raise InsightError(f"unknown dataset {name!r}: use one of {listed}") from None


def default_periods(name: str) -> Periods | None:
    """The default periods of the data set `name`; None for one without (or unknown)."""
    dataset = DATASET_REGISTRY.get(name)
    return dataset.periods if dataset is not None else None


def load_dataset(name: str, path: str | Path | None = None, columns: str = "") -> EventTable:
    """Load a named dataset: ``cdnow`` (bundled unless ``path``), ``online-retail`` (``path``),
    or ``csv`` (a CSV/Parquet ``path`` read through the ``columns`` mapping).

    Raises:
        InsightError: for an unknown name, or a missing path where one is needed.
        DataError: for a file that cannot be read (see each loader).
    """
    return find_dataset(name).load(path, columns)
