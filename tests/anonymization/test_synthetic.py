"""The synthetic PII partner table: deterministic, shaped like the partner data it stands for."""

from __future__ import annotations

import pandas as pd
import pytest

from anonymization import make_pii_events, pii_schema


def test_same_seed_gives_the_same_table(events: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(make_pii_events(events, seed=3), make_pii_events(events, seed=3))


def test_other_seed_gives_other_people(events: pd.DataFrame) -> None:
    assert list(make_pii_events(events, seed=3)["name"]) != list(
        make_pii_events(events, seed=4)["name"]
    )


def test_each_customer_keeps_one_identity_and_consent(events: pd.DataFrame) -> None:
    table = make_pii_events(events, seed=3)

    per_customer = table.groupby("customer_id")[["name", "email", "phone", "consent"]].nunique()

    assert (per_customer == 1).all().all()
    assert list(table.columns[:4]) == ["customer_id", "timestamp", "quantity", "amount"]
    pii_schema().check_columns(table.columns)


def test_notes_mention_own_identifiers_and_other_people() -> None:
    events = pd.DataFrame(
        {
            "customer_id": [str(i // 2) for i in range(400)],
            "timestamp": pd.Timestamp("1997-01-01"),
            "quantity": 1.0,
            "amount": 10.0,
        }
    )
    table = make_pii_events(events, seed=1)
    rows = [
        (str(name).split()[-1], str(email), str(phone), str(note))
        for name, email, phone, note in zip(
            table["name"], table["email"], table["phone"], table["note"], strict=True
        )
    ]

    own = sum(surname in note or email in note for surname, email, _, note in rows)
    neutral = sum(
        surname not in note and email not in note and phone not in note
        for surname, email, phone, note in rows
    )

    assert 0.2 < own / len(rows) < 0.6
    assert neutral > 0
    assert 80 <= table["note"].str.len().mean() <= 140


def test_events_without_required_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="quantity"):
        make_pii_events(pd.DataFrame({"customer_id": ["1"], "amount": [1.0]}), seed=1)
