"""Table pseudonymization, consent and erasure end to end on a small table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from anonymization import (
    ConsentError,
    ErasureListError,
    PartnerSchema,
    Pseudonymizer,
    SchemaError,
    apply_consent,
    apply_erasure,
    forget,
    load_erasure_list,
    pii_schema,
    pseudonymize_table,
    usable_rows,
)

from .conftest import KEY_A, KEY_B


def raw_values(table: pd.DataFrame) -> set[str]:
    values: set[str] = set()
    for column in ("name", "email", "phone", "address"):
        values |= set(table[column])
    values |= {value.split()[-1] for value in table["name"]}  # surnames alone
    return values


def test_output_has_pseudonyms_and_no_raw_identifier(
    pii_table: pd.DataFrame, pseudonymizer: Pseudonymizer
) -> None:
    table = pii_table.assign(consent=True)

    out = pseudonymize_table(table, pii_schema(), pseudonymizer)

    assert list(out.columns) == ["customer_id", "timestamp", "quantity", "amount", "note"]
    assert list(out["customer_id"]) == pseudonymizer.pseudonyms(table["customer_id"])
    cells = " ".join(out.astype(str).to_numpy().ravel())
    assert not [value for value in raw_values(table) if value in cells]
    assert "00017" not in set(out["customer_id"])


def test_kept_identifier_columns_hold_pseudonyms(
    pii_table: pd.DataFrame, pseudonymizer: Pseudonymizer
) -> None:
    schema = PartnerSchema(
        customer_id="customer_id",
        identifier_columns={
            "name": "name",
            "email": "email",
            "phone": "phone",
            "address": "address",
        },
        text_columns=("note",),
        keep_pseudonymized=("email",),
    )

    out = pseudonymize_table(pii_table, schema, pseudonymizer)

    assert list(out["email"]) == pseudonymizer.pseudonyms(pii_table["email"], kind="email")
    assert "name" not in out.columns


def test_unknown_schema_column_stops_the_table(
    pii_table: pd.DataFrame, pseudonymizer: Pseudonymizer
) -> None:
    schema = PartnerSchema(customer_id="customer_id", text_columns=("remarks",))

    with pytest.raises(SchemaError, match="'remarks'"):
        pseudonymize_table(pii_table, schema, pseudonymizer)


def test_rows_without_consent_never_come_out(
    pii_table: pd.DataFrame, pseudonymizer: Pseudonymizer
) -> None:
    consent = pd.Series(["yes", "yes", "no", "no", "no", None], dtype=object)
    table = pii_table.assign(consent=consent)

    out = pseudonymize_table(table, pii_schema(), pseudonymizer)

    assert set(out["customer_id"]) == {pseudonymizer.pseudonym("00017")}
    assert "consent" not in out.columns


def test_consent_file_ids_filter_raw_rows(pii_table: pd.DataFrame) -> None:
    kept = apply_consent(pii_table, consented_ids={"00042"})

    assert set(kept["customer_id"]) == {"00042"}


def test_uninterpretable_consent_names_row_and_column(pii_table: pd.DataFrame) -> None:
    table = pii_table.assign(consent=["yes", "maybe", "no", "no", "no", "no"])

    with pytest.raises(ConsentError, match="row 2, column 'consent'"):
        apply_consent(table, consent_column="consent")


def test_forgotten_customers_leave_from_the_next_round(
    pii_table: pd.DataFrame, pseudonymizer: Pseudonymizer, tmp_path: Path
) -> None:
    erasure_path = tmp_path / "erasure.jsonl"
    round_one = pseudonymize_table(pii_table.assign(consent=True), pii_schema(), pseudonymizer)

    added = forget(["00042"], KEY_A, erasure_path)
    round_two = apply_erasure(round_one, load_erasure_list(erasure_path, key=KEY_A))

    assert added == [pseudonymizer.pseudonym("00042")]
    assert len(round_one) == 6
    assert set(round_two["customer_id"]) == set(round_one["customer_id"]) - set(added)


def test_forget_is_idempotent_and_append_only(tmp_path: Path) -> None:
    erasure_path = tmp_path / "erasure.jsonl"
    forget(["00017"], KEY_A, erasure_path)
    before = erasure_path.read_text().splitlines()

    again = forget(["00017", "00099"], KEY_A, erasure_path)
    after = erasure_path.read_text().splitlines()

    assert again == [Pseudonymizer(KEY_A).pseudonym("00099")]
    assert after[: len(before)] == before and len(after) == 2
    assert {json.loads(line)["key_id"] for line in after} == {Pseudonymizer(KEY_A).key_id}
    assert "00017" not in erasure_path.read_text()


def test_erasure_list_written_under_another_key_is_refused(tmp_path: Path) -> None:
    erasure_path = tmp_path / "erasure.jsonl"
    forget(["00017"], KEY_A, erasure_path)

    with pytest.raises(ErasureListError, match="written under key id"):
        load_erasure_list(erasure_path, key=KEY_B)


def test_malformed_erasure_line_is_named(tmp_path: Path) -> None:
    erasure_path = tmp_path / "erasure.jsonl"
    erasure_path.write_text(Pseudonymizer(KEY_A).pseudonym("1") + "\nnot-a-pseudonym\n")

    with pytest.raises(ErasureListError, match=r"erasure\.jsonl, line 2"):
        load_erasure_list(erasure_path)


def test_missing_erasure_list_is_empty(tmp_path: Path) -> None:
    assert load_erasure_list(tmp_path / "none.jsonl") == frozenset()


def test_usable_rows_counts_what_it_drops_for_each_reason() -> None:
    table = pd.DataFrame(
        {
            "id": ["a", "b", " ", None, "e"],
            "consent": ["yes", "no", "yes", "yes", "yes"],
        }
    )
    schema = PartnerSchema(customer_id="id", consent_column="consent")

    kept, dropped = usable_rows(table, schema)

    assert kept["id"].tolist() == ["a", "e"]
    assert dropped == {"no_consent": 1, "missing_customer_id": 2}


def test_a_table_without_text_columns_never_loads_presidio(tmp_path: Path) -> None:
    """Presidio's import and recognizers cost about 2 s of CPU per process: a partner whose
    data has no free text (the usual purchase log) must not pay them on every load."""
    import subprocess
    import sys

    code = (
        "import sys, pandas as pd\n"
        "from anonymization import PartnerSchema, Pseudonymizer, pseudonymize_table\n"
        "table = pd.DataFrame({'customer_id': ['a', 'b'], 'amount': [1.0, 2.0]})\n"
        f"out = pseudonymize_table(table, PartnerSchema(customer_id='customer_id'), "
        f"Pseudonymizer({KEY_A!r}))\n"
        "assert len(out) == 2 and 'a' not in set(out['customer_id'])\n"
        "print(sorted(m for m in sys.modules if m.startswith(('presidio', 'spacy'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
