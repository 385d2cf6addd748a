"""Round records: canonical bytes, validation on write, and rules across records."""

from __future__ import annotations

import math
from typing import Any

import pytest

from audit import (
    COSIGNATURE_V1,
    BudgetError,
    FormatError,
    NoteSigner,
    RecordError,
    encode_record,
    parse_record,
    run_end_record,
)
from audit.run import RecordSequence, canonical_json
from tests.audit.runs import a_round, sha, start_record

KEYS = {p: NoteSigner.generate(f"witness.test/{p}", COSIGNATURE_V1) for p in ("a", "b")}


def test_canonical_json_sorts_keys_without_spaces_in_utf8() -> None:
    assert canonical_json({"b": 1, "a": [1.5, "é"], "c": None}) == (
        '{"a":[1.5,"é"],"b":1,"c":null}'.encode()
    )


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, 2**53, {1: "x"}, b"raw", {"s": {1, 2}}]
)
def test_values_without_exact_json_form_are_refused(value: Any) -> None:
    with pytest.raises(RecordError):
        canonical_json({"field": value})


def test_record_bytes_round_trip_and_must_be_canonical() -> None:
    record = a_round(1, ["a", "b"])
    data = encode_record(record)

    assert parse_record(data) == record
    with pytest.raises(FormatError, match="canonical"):
        parse_record(data.replace(b'":', b'": ', 1))
    with pytest.raises(FormatError):
        parse_record(b'{"v":NaN}')


def test_builders_make_versioned_typed_records() -> None:
    start = start_record(KEYS)
    end = run_end_record(final_model_hash=sha("m"), rounds=0, ended_at="2025-01-01T00:00:00Z")

    assert (start["v"], start["type"], end["type"]) == (1, "run_start", "run_end")
    assert start["dp"]["target_delta"] == 1e-5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"participants": ["a", "b@example.com"]}, "partner id"),
        ({"model_hash_after": "ABC"}, "SHA-256"),
        ({"round": 0}, "at least 1"),
        ({"round": True}, "integer"),
        ({"epsilon_spent": {"a": -0.1, "b": 0.5}}, "non-negative"),
        ({"epsilon_cumulative": {"a": 9.0, "b": 0.5}}, "exceeds its budget"),
        ({"dropouts": ["a"]}, "both participants and dropouts"),
        ({"update_hashes": {"a": sha("u")}}, "one update hash per participant"),
        ({"started_at": "2025-03-01 10:00"}, "UTC time"),
        ({"email": "someone@example.com"}, "unknown field"),
        ({"v": 2}, "version"),
    ],
)
def test_invalid_round_records_are_refused_with_the_field_named(
    change: dict[str, Any], message: str
) -> None:
    record = {**a_round(1, ["a", "b"]), **change}

    with pytest.raises(RecordError, match=message):
        encode_record(record)


def test_dp_terms_use_opacus_names() -> None:
    record = start_record(KEYS)
    record["dp"] = {**record["dp"], "sigma": 1.0}

    with pytest.raises(RecordError, match="unknown term 'sigma'"):
        encode_record(record)


def test_partner_keys_must_be_cosigner_keys() -> None:
    record = start_record(KEYS)
    record["partners"]["a"] = NoteSigner.generate("witness.test/a").verifier.vkey

    with pytest.raises(RecordError, match="type 0x04"):
        encode_record(record)


def _sequence(*records: dict[str, Any]) -> RecordSequence:
    sequence = RecordSequence()
    for record in records:
        sequence.accept(record)
    return sequence


def test_a_valid_run_is_accepted_in_order() -> None:
    sequence = _sequence(
        start_record(KEYS),
        a_round(1, ["a", "b"]),
        a_round(2, ["a", "b"]),
        run_end_record(final_model_hash=sha("model 2"), rounds=2, ended_at="2025-03-01T11:00:00Z"),
    )

    assert (sequence.last_round, sequence.ended, sequence.cumulative) == (
        2,
        True,
        {"a": 1.0, "b": 1.0},
    )


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([a_round(1, ["a"])], "first record must be run_start"),
        ([start_record(KEYS), a_round(2, ["a"])], "consecutive"),
        ([start_record(KEYS), start_record(KEYS)], "single run_start"),
        ([start_record(KEYS), a_round(1, ["a", "z"])], "not declared"),
        (
            [
                start_record(KEYS),
                run_end_record(
                    final_model_hash=sha("x"), rounds=1, ended_at="2025-03-01T11:00:00Z"
                ),
            ],
            "1 rounds",
        ),
        (
            [
                start_record(KEYS),
                a_round(1, ["a"]),
                run_end_record(
                    final_model_hash=sha("other"), rounds=1, ended_at="2025-03-01T11:00:00Z"
                ),
            ],
            "final_model_hash",
        ),
    ],
)
def test_records_out_of_sequence_are_refused(records: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(RecordError, match=message):
        _sequence(*records)


def test_budget_may_not_change_and_epsilon_may_not_decrease() -> None:
    with pytest.raises(BudgetError, match="budget of a changed"):
        _sequence(start_record(KEYS), a_round(1, ["a"]), a_round(2, ["a"], budget=9.0))
    shrinking = a_round(2, ["a"], spent=0.1)
    with pytest.raises(BudgetError, match="decreased"):
        _sequence(start_record(KEYS), a_round(1, ["a"], spent=0.5), shrinking)


def test_a_refused_record_leaves_the_sequence_unchanged() -> None:
    sequence = _sequence(start_record(KEYS), a_round(1, ["a"]))

    with pytest.raises(RecordError):
        sequence.accept(a_round(3, ["a"]))
    sequence.accept(a_round(2, ["a"]))
    assert sequence.last_round == 2
