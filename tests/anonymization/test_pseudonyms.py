"""Keyed pseudonyms: stable under one key, unlinkable across keys, typed text tokens."""

from __future__ import annotations

import hashlib
import hmac
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from anonymization import Pseudonymizer

from .conftest import KEY_A, KEY_B

keys = st.binary(min_size=32, max_size=32)
values = st.text(min_size=1, max_size=40).filter(lambda v: v.strip() != "")


@settings(max_examples=100, deadline=None)
@given(key=keys, value=values)
def test_pseudonym_is_stable_for_a_key(key: bytes, value: str) -> None:
    assert Pseudonymizer(key).pseudonym(value) == Pseudonymizer(key).pseudonym(value)


@settings(max_examples=100, deadline=None)
@given(first=keys, second=keys, value=values)
def test_pseudonyms_under_different_keys_differ(first: bytes, second: bytes, value: str) -> None:
    if first == second:
        return

    assert Pseudonymizer(first).pseudonym(value) != Pseudonymizer(second).pseudonym(value)


@settings(max_examples=50, deadline=None)
@given(first=keys, second=keys, a=values, b=values)
def test_equality_across_keys_reveals_nothing(first: bytes, second: bytes, a: str, b: str) -> None:
    """Two partners with different keys cannot link a shared customer by comparing pseudonyms:
    a pseudonym under one key never equals the pseudonym of any value under the other."""
    if first == second:
        return

    assert Pseudonymizer(first).pseudonym(a) != Pseudonymizer(second).pseudonym(b)


def test_pseudonym_is_32_lowercase_hex_characters() -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", Pseudonymizer(KEY_A).pseudonym("00017"))


def test_pseudonym_is_pinned_for_a_known_key_and_value() -> None:
    """HMAC-SHA256(key, "fedinsight/pseudonym/v1" 0x00 "customer_id" 0x00 "00017"), first 32
    hex characters. A silent change would orphan every erasure list and commitment."""
    expected = hmac.new(
        bytes(32), b"fedinsight/pseudonym/v1\x00customer_id\x0000017", hashlib.sha256
    ).hexdigest()[:32]

    assert expected == "d705255745ea198f0c6c45fcb71d4028"
    assert Pseudonymizer(bytes(32)).pseudonym("00017") == expected
    assert Pseudonymizer(bytes(32)).pseudonym(" 00017 ") == expected
    assert Pseudonymizer(bytes(32)).pseudonym("17") != expected


def test_kinds_are_domain_separated() -> None:
    pseudonymizer = Pseudonymizer(KEY_A)

    assert pseudonymizer.pseudonym("x@example.com", kind="email") != pseudonymizer.pseudonym(
        "x@example.com", kind="customer_id"
    )


def test_email_and_phone_variants_share_a_pseudonym() -> None:
    pseudonymizer = Pseudonymizer(KEY_A)

    assert pseudonymizer.pseudonym("Jane.Doe@Example.com", kind="email") == pseudonymizer.pseudonym(
        "jane.doe@example.com ", kind="email"
    )
    assert pseudonymizer.pseudonym("+1 (415) 555-2671", kind="phone") == pseudonymizer.pseudonym(
        "14155552671", kind="phone"
    )


def test_token_is_typed_and_consistent_for_a_name() -> None:
    pseudonymizer = Pseudonymizer(KEY_A)

    token = pseudonymizer.token("PERSON", "John Smith")

    assert re.fullmatch(r"<PERSON_[0-9a-f]{8}>", token)
    assert pseudonymizer.token("PERSON", "JOHN  SMITH") == token
    assert Pseudonymizer(KEY_B).token("PERSON", "John Smith") != token


def test_key_id_is_public_and_stable() -> None:
    assert Pseudonymizer(KEY_A).key_id == Pseudonymizer(KEY_A).key_id
    assert Pseudonymizer(KEY_A).key_id != Pseudonymizer(KEY_B).key_id
    assert KEY_A.hex() not in Pseudonymizer(KEY_A).key_id
