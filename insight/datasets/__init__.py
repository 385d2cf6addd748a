"""Loaders that turn purchase files into validated event tables (see `insight.schema`)."""

from insight.datasets.cdnow import load_cdnow, load_cdnow_sample
from insight.datasets.online_retail import load_online_retail
from insight.datasets.periods import DATASET_PERIODS
from insight.datasets.table import ColumnMapping, load_table

__all__ = [
    "DATASET_PERIODS",
    "ColumnMapping",
    "load_cdnow",
    "load_cdnow_sample",
    "load_online_retail",
    "load_table",
]
