from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insight.errors import DataError
from insight.schema import validate_events


def _frame(**overrides: object) -> pd.DataFrame:
    columns: dict[str, object] = {
        "customer_id": ["a", "b"],
        "timestamp": pd.to_datetime(["2020-01-01", "2020-01-02"]),
        "quantity": [1, 2],
        "amount": [3.5, 0.0],
        "Country": ["UK", "FR"],
    }
    columns.update(overrides)
    return pd.DataFrame(columns)


def test_valid_frame_is_normalised_to_schema_dtypes() -> None:
    events = validate_events(_frame(), source="mem")

    assert list(events.columns) == ["customer_id", "timestamp", "quantity", "amount", "Country"]
    assert events["timestamp"].dtype == np.dtype("datetime64[ns]")
    assert events["quantity"].dtype == np.float64
    assert events["amount"].dtype == np.float64
    assert pd.api.types.is_string_dtype(events["customer_id"].dtype)


def test_missing_column_is_named() -> None:
    with pytest.raises(DataError) as caught:
        validate_events(_frame().drop(columns="amount"), source="mem")

    assert caught.value.column == "amount"


def test_nat_names_row_from_line_numbers() -> None:
    frame = _frame(timestamp=pd.to_datetime(pd.Series(["2020-01-01", None])))

    with pytest.raises(DataError) as caught:
        validate_events(frame, source="f.csv", line_numbers=[2, 7])

    assert (caught.value.line, caught.value.column) == (7, "timestamp")


def test_negative_amount_is_rejected_with_row() -> None:
    with pytest.raises(DataError, match="negative amount") as caught:
        validate_events(_frame(amount=[1.0, -2.0]), source="mem")

    assert (caught.value.line, caught.value.column) == (2, "amount")


def test_non_string_customer_ids_are_rejected() -> None:
    with pytest.raises(DataError) as caught:
        validate_events(_frame(customer_id=[1, 2]), source="mem")

    assert caught.value.column == "customer_id"


def test_missing_customer_id_is_rejected_with_row() -> None:
    with pytest.raises(DataError) as caught:
        validate_events(_frame(customer_id=["a", None]), source="mem")

    assert caught.value.line == 2


def test_text_timestamps_are_rejected() -> None:
    with pytest.raises(DataError, match="datetime64"):
        validate_events(_frame(timestamp=["2020-01-01", "2020-01-02"]), source="mem")


def test_nan_quantity_is_rejected() -> None:
    with pytest.raises(DataError) as caught:
        validate_events(_frame(quantity=[np.nan, 1.0]), source="mem")

    assert (caught.value.line, caught.value.column) == (1, "quantity")
