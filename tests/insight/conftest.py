"""Fixtures for the insight tests: the shared real data sets, skipped when absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from insight.datasets import DATASET_REGISTRY
from insight.protocol import Periods

# The shared data folder beside the project's root (``../shared/data``), as CI lays it out;
# override with FEDINSIGHT_DATA_DIR.
_BESIDE = Path(__file__).resolve().parents[2].parent / "shared" / "data"
DATA_DIR = Path(os.environ.get("FEDINSIGHT_DATA_DIR", str(_BESIDE)))


def _shared_file(relative: str) -> Path:
    path = DATA_DIR / relative
    if not path.is_file():
        pytest.skip(f"{path} is absent (set FEDINSIGHT_DATA_DIR to the shared data folder)")
    return path


@pytest.fixture
def cdnow_periods() -> Periods:
    """CDNOW's default calibration and holdout (the sample shares them), from the registry."""
    periods = DATASET_REGISTRY["cdnow"].periods
    assert periods is not None
    return periods


@pytest.fixture
def cdnow_sample_path() -> Path:
    """Fader and Hardie's CDNOW_sample.txt (2,357 customers)."""
    return _shared_file("cdnow/CDNOW_sample.txt")


@pytest.fixture
def online_retail_path() -> Path:
    """The UCI Online Retail 2010-2011 release as Parquet (never committed)."""
    return _shared_file("online_retail/online_retail_2010_2011.parquet")
