"""A partner's ingestion: pseudonymized, consented, erasure honoured from the next load on."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from anonymization import PartnerSchema, Pseudonymizer, forget, pii_schema
from client_node.data import ingest
from client_node.errors import PartnerDataError
from client_node.node_state import NodeState
from insight import write_event_file


def _raw(tmp_path: Path) -> Path:
    frame = pd.DataFrame(
        {
            "customer_id": ["cust-a", "cust-a", "cust-b", "cust-c"],
            "timestamp": pd.to_datetime(["1997-01-02", "1997-02-03", "1997-01-05", "1997-03-01"]),
            "quantity": [1.0, 2.0, 1.0, 1.0],
            "amount": [10.0, 20.0, 5.0, 7.0],
            "name": ["Ada Lovelace", "Ada Lovelace", "Alan Turing", "Grace Hopper"],
            "email": [
                "ada@example.org",
                "ada@example.org",
                "alan@example.org",
                "grace@example.org",
            ],
            "phone": [
                "+44 20 7946 0000",
                "+44 20 7946 0000",
                "+44 20 7946 0001",
                "+1 415 555 2671",
            ],
            "address": ["1 Main Street", "1 Main Street", "2 Main Street", "3 Main Street"],
            "note": ["Ada Lovelace asked", "call +44 20 7946 0000", "ok", "Grace Hopper again"],
            "consent": [True, True, True, False],
        }
    )
    path = tmp_path / "raw.parquet"
    write_event_file(frame, path)
    return path


def test_ingest_pseudonymizes_and_leaves_out_customers_without_consent(tmp_path: Path) -> None:
    state = NodeState(tmp_path / "state").ensure()
    events = ingest(_raw(tmp_path), pii_schema(), state)
    pseudo = Pseudonymizer(state.pseudonym_key())
    assert set(events["customer_id"]) == {pseudo.pseudonym("cust-a"), pseudo.pseudonym("cust-b")}
    assert not {"name", "email", "phone", "address", "consent"} & set(events.columns)
    text = events.to_csv()
    for raw in ("cust-a", "Ada", "Lovelace", "ada@example.org", "7946", "Grace"):
        assert raw not in text


def test_a_forgotten_customer_is_gone_from_the_next_ingest(tmp_path: Path) -> None:
    state = NodeState(tmp_path / "state").ensure()
    raw = _raw(tmp_path)
    before = ingest(raw, pii_schema(), state)
    forget(["cust-b"], state.pseudonym_key(), state.erasure_path)
    after = ingest(raw, pii_schema(), state)
    gone = Pseudonymizer(state.pseudonym_key()).pseudonym("cust-b")
    assert gone in set(before["customer_id"])
    assert gone not in set(after["customer_id"])
    assert len(after) == len(before) - 1


def test_pseudonyms_differ_between_partners(tmp_path: Path) -> None:
    raw = _raw(tmp_path)
    a = ingest(raw, PartnerSchema("customer_id"), NodeState(tmp_path / "a").ensure())
    b = ingest(raw, PartnerSchema("customer_id"), NodeState(tmp_path / "b").ensure())
    assert not set(a["customer_id"]) & set(b["customer_id"])


def test_a_table_without_event_columns_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "raw.parquet"
    write_event_file(pd.DataFrame({"customer_id": ["x"], "when": ["1997-01-01"]}), path)
    with pytest.raises(PartnerDataError, match="timestamp"):
        ingest(path, PartnerSchema("customer_id"), NodeState(tmp_path / "s").ensure())
