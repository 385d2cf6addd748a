"""Loaders that turn purchase files into validated event tables (see `insight.schema`), and
the registry of the data sets known by name."""

from insight.datasets.cdnow import load_cdnow, load_cdnow_sample
from insight.datasets.online_retail import load_online_retail
from insight.datasets.registry import (
    DATASET_REGISTRY,
    Dataset,
    default_periods,
    find_dataset,
    load_dataset,
    parse_columns,
)
from insight.datasets.synthetic import SyntheticSpec, SyntheticSummary, write_synthetic
from insight.datasets.table import ColumnMapping, load_table

__all__ = [
    "DATASET_REGISTRY",
    "ColumnMapping",
    "Dataset",
    "SyntheticSpec",
    "SyntheticSummary",
    "default_periods",
    "find_dataset",
    "load_cdnow",
    "load_cdnow_sample",
    "load_dataset",
    "load_online_retail",
    "load_table",
    "parse_columns",
    "write_synthetic",
]
