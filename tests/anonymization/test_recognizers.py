"""Each recognizer of the offline default on positive and negative cases, with exact spans."""

from __future__ import annotations

import pytest
from presidio_analyzer import RecognizerResult
from presidio_analyzer.predefined_recognizers import NhsRecognizer, UrlRecognizer

from anonymization import RecordIdentifiers, TextEngine
from anonymization.recognizers.address import StreetAddressRecognizer
from anonymization.recognizers.names import OfflineNameRecognizer
from anonymization.recognizers.record_linked import RecordLinkedRecognizer
from anonymization.text import resolve_overlaps

Found = list[tuple[str, int, int]]


def found(engine: TextEngine, text: str, record: RecordIdentifiers | None = None) -> Found:
    return [(r.entity_type, r.start, r.end) for r in engine.analyze(text, record=record)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Write to jane.doe@example.com today", [("EMAIL_ADDRESS", 9, 29)]),
        ("Call 415-555-2671 now", [("PHONE_NUMBER", 5, 17)]),
        ("My number is 4155552671 thanks", [("PHONE_NUMBER", 13, 23)]),
        ("Card 4111 1111 1111 1111 expires soon", [("CREDIT_CARD", 5, 24)]),
        ("IBAN GB82 WEST 1234 5698 7654 32 please", [("IBAN_CODE", 5, 32)]),
        ("See https://shop.example.org/orders for details", [("URL", 4, 35)]),
        ("Delivered to 221B Baker Street today", [("STREET_ADDRESS", 13, 30)]),
        ("Hauptstraße 5 is the shop", [("STREET_ADDRESS", 0, 13)]),
    ],
)
def test_pattern_recognizers_find_exact_spans(
    engine: TextEngine, text: str, expected: Found
) -> None:
    assert found(engine, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Version 1.2 of the app, order 12345",
        "The game ended.It was late",
        "Asked about 3 CDs and a DVD",
        "no digits, no names, nothing here",
    ],
)
def test_pattern_recognizers_ignore_ordinary_text(engine: TextEngine, text: str) -> None:
    assert found(engine, text) == []


def test_stock_presidio_takes_a_us_phone_number_for_a_uk_nhs_number() -> None:
    """The false positive the offline default fixes (by leaving UK_NHS out)."""
    text = "My number is 4155552671 thanks"

    stock = NhsRecognizer().analyze(text, ["UK_NHS"], None)

    assert [(r.entity_type, r.start, r.end) for r in stock] == [("UK_NHS", 13, 23)]


def test_us_phone_number_is_only_a_phone_number(engine: TextEngine) -> None:
    assert found(engine, "My number is 4155552671 thanks") == [("PHONE_NUMBER", 13, 23)]


def test_stock_presidio_finds_urls_inside_an_email_address() -> None:
    """The false positive the offline default fixes (word-bounded URLs, no "@" nearby)."""
    text = "Write to jane.doe@example.com today"

    stock = UrlRecognizer().analyze(text, ["URL"], None)

    assert {text[r.start : r.end] for r in stock} >= {"example.com"}


def test_email_address_is_not_also_a_url(engine: TextEngine) -> None:
    assert found(engine, "Write to jane.doe@example.com today") == [("EMAIL_ADDRESS", 9, 29)]


def test_phone_number_after_a_phone_word_is_found_even_if_invalid(engine: TextEngine) -> None:
    assert found(engine, "Phone: 467 3395") == [("PHONE_NUMBER", 7, 15)]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Anna Kowalski called about the order", ["Anna Kowalski"]),
        ("Spoke with Mr Okonkwo today", ["Okonkwo"]),
        ("Music by Ludwig van Beethoven tonight", ["Ludwig van Beethoven"]),
        ("Thanks, Faina D. Yefremova", ["Faina D. Yefremova"]),
        ("My name is Rubija", ["Rubija"]),
        ("Her maiden name is Key", ["Key"]),
        ("We met Ivan Petrov and later Petrov left", ["Ivan Petrov", "Petrov"]),
        ("Gift for Olgierd Glass, deliver to the office", ["Olgierd Glass"]),
    ],
)
def test_offline_name_recognizer_finds_names(text: str, names: list[str]) -> None:
    spans = OfflineNameRecognizer().spans(text)

    assert [text[start:end] for start, end, _ in spans] == names


@pytest.mark.parametrize(
    "text",
    [
        "Will you call me back?",
        "The rose garden is lovely in May",
        "I'm happy with the order",
        "Asked about 3 CDs and a DVD",
        "all lower case, even anna kowalski",
    ],
)
def test_offline_name_recognizer_ignores_common_words(text: str) -> None:
    assert OfflineNameRecognizer().spans(text) == []


def test_street_address_recognizer_ignores_numbers_before_ordinary_words() -> None:
    text = "I bought 3 Great Albums on Monday"

    assert StreetAddressRecognizer().analyze(text, ["STREET_ADDRESS"], None) == []


RECORD = RecordIdentifiers.from_kinds(
    {
        "customer_id": ["C-00123"],
        "name": ["John Smith"],
        "email": ["John.Smith@Example.com"],
        "phone": ["+1 (415) 555-2671"],
        "address": ["12 Baker Street, Springfield"],
    }
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("J. Smith wrote", [("PERSON", 0, 8)]),
        ("SMITH, JOHN here", [("PERSON", 0, 11)]),
        ("john  smith here", [("PERSON", 0, 11)]),
        ("ask Smith", [("PERSON", 4, 9)]),
        ("mail JOHN.SMITH@EXAMPLE.COM now", [("EMAIL_ADDRESS", 5, 27)]),
        ("call 415.555.2671 or 4155552671", [("PHONE_NUMBER", 5, 17), ("PHONE_NUMBER", 21, 31)]),
        ("or +1 415 555 2671", [("PHONE_NUMBER", 3, 18)]),
        ("Customer C00123 asked", [("CUSTOMER_ID", 9, 15)]),
        ("lives at 12 baker street now", [("STREET_ADDRESS", 9, 24)]),
    ],
)
def test_record_linked_recognizer_finds_variants(text: str, expected: Found) -> None:
    results = RecordLinkedRecognizer(RECORD).analyze(text, [])

    assert [(r.entity_type, r.start, r.end) for r in resolve_overlaps(results)] == expected


@pytest.mark.parametrize(
    "text", ["a smith works iron", "call 415 555 0000", "mail jane@example.com", "order C00124"]
)
def test_record_linked_recognizer_ignores_other_values(text: str) -> None:
    assert RecordLinkedRecognizer(RECORD).analyze(text, []) == []


def test_short_numeric_customer_id_needs_context() -> None:
    recognizer = RecordLinkedRecognizer(RecordIdentifiers.from_kinds({"customer_id": ["12"]}))

    assert recognizer.analyze("order 12 of 3", []) == []
    assert [(r.start, r.end) for r in recognizer.analyze("customer id 12 called", [])] == [(12, 14)]


def test_record_linked_results_carry_the_canonical_value() -> None:
    results = RecordLinkedRecognizer(RECORD).analyze("J. Smith wrote", [])

    assert [r.recognition_metadata["linked_value"] for r in results] == ["john smith"]


def test_name_inside_an_email_is_covered_by_the_email(engine: TextEngine) -> None:
    assert found(engine, "mail john.smith@example.com now", RECORD) == [("EMAIL_ADDRESS", 5, 27)]


def test_overlap_resolution_keeps_every_character_covered() -> None:
    text = "J. Smith, SMITH, John Smith."
    linked = RecognizerResult("PERSON", 10, 21, 1.0)
    listed = RecognizerResult("PERSON", 17, 27, 0.85)

    resolved = resolve_overlaps([listed, linked], text)

    assert [(r.start, r.end, r.score) for r in resolved] == [(10, 21, 1.0), (22, 27, 0.85)]


def test_overlap_resolution_drops_a_url_inside_an_email() -> None:
    email = RecognizerResult("EMAIL_ADDRESS", 5, 27, 1.0)
    url = RecognizerResult("URL", 16, 27, 0.5)

    assert resolve_overlaps([url, email]) == [email]


def test_luhn_valid_number_after_a_card_word_is_a_card(engine: TextEngine) -> None:
    """19 digits with an issuer prefix Presidio's patterns do not list."""
    assert found(engine, "My card 2200000000000000004 was declined") == [("CREDIT_CARD", 8, 27)]


@pytest.mark.parametrize(
    "text",
    ["Order 2200000000000000004 shipped", "My card 2200000000000000005 was declined"],
    ids=["no-card-word", "fails-luhn"],
)
def test_long_digit_runs_without_context_or_checksum_are_not_cards(
    engine: TextEngine, text: str
) -> None:
    assert found(engine, text) == []
