"""Partner schemas: loading from TOML and JSON, and clear errors for mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anonymization import PartnerSchema, SchemaError, pii_schema, write_pii_schema


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_schema_round_trips_through_a_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"schema{suffix}"

    written = write_pii_schema(path)

    assert PartnerSchema.load(path) == written == pii_schema()


def test_schema_loads_a_hand_written_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "schema.toml"
    path.write_text(
        'customer_id = "CustomerID"\n'
        'text_columns = ["Notes"]\n'
        'keep_pseudonymized = ["Email"]\n'
        "[identifier_columns]\n"
        'Email = "email"\n'
        '"Full Name" = "name"\n'
    )

    schema = PartnerSchema.load(path)

    assert schema.customer_id == "CustomerID"
    assert dict(schema.identifier_columns) == {"Email": "email", "Full Name": "name"}
    assert schema.columns == ("CustomerID", "Email", "Full Name", "Notes")


def test_unknown_table_column_is_named() -> None:
    schema = PartnerSchema(customer_id="customer_id", text_columns=("remarks",))

    with pytest.raises(SchemaError, match=r"orders\.csv: the schema names column 'remarks'"):
        schema.check_columns(["customer_id", "note"], source="orders.csv")


def test_unknown_schema_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps({"customer_id": "id", "text_colums": ["note"]}))

    with pytest.raises(SchemaError, match="unknown key 'text_colums'"):
        PartnerSchema.load(path)


def test_unknown_identifier_kind_is_named() -> None:
    with pytest.raises(SchemaError, match="identifier column 'ssn' has kind 'passport'"):
        PartnerSchema(customer_id="id", identifier_columns={"ssn": "passport"})


def test_a_column_cannot_have_two_roles() -> None:
    with pytest.raises(SchemaError, match="column 'note' is both identifier and text"):
        PartnerSchema(
            customer_id="id", identifier_columns={"note": "other"}, text_columns=("note",)
        )


def test_missing_schema_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"absent\.toml: schema file not found"):
        PartnerSchema.load(tmp_path / "absent.toml")


def test_malformed_schema_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "schema.toml"
    path.write_text("customer_id = \n")

    with pytest.raises(SchemaError, match="not a valid schema file"):
        PartnerSchema.load(path)
