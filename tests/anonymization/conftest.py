"""Shared fixtures: keys, one offline text engine for the session, a small PII table."""

from __future__ import annotations

import pandas as pd
import pytest

from anonymization import Pseudonymizer, TextEngine, default_engine, make_pii_events

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))


@pytest.fixture(scope="session")
def engine() -> TextEngine:
    """The offline default (built once: about two seconds)."""
    return default_engine()


@pytest.fixture
def pseudonymizer(engine: TextEngine) -> Pseudonymizer:
    return Pseudonymizer(KEY_A, engine=engine)


@pytest.fixture
def events() -> pd.DataFrame:
    """Six events of three customers, CDNOW-style."""
    return pd.DataFrame(
        {
            "customer_id": ["00017", "00017", "00042", "00042", "00042", "00099"],
            "timestamp": pd.to_datetime(["1997-01-02"] * 6),
            "quantity": [1.0, 2.0, 1.0, 3.0, 1.0, 2.0],
            "amount": [11.0, 22.5, 9.99, 30.0, 12.0, 25.0],
        }
    )


@pytest.fixture
def pii_table(events: pd.DataFrame) -> pd.DataFrame:
    return make_pii_events(events, seed=5)
