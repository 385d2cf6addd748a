"""Free text through Presidio: typed keyed tokens, consistency, and the NLP engine choices."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import spacy

from anonymization import (
    NlpModelError,
    Pseudonymizer,
    RecordIdentifiers,
    TextEngine,
    make_pii_events,
    spacy_model_engine,
)
from anonymization.engines import BlankSpacyNlpEngine
from anonymization.text import candidate_entities

from .conftest import KEY_B

TOKEN = re.compile(r"<([A-Z_]+)_[0-9a-f]{8}>")


def test_findings_become_typed_tokens_and_other_words_stay(pseudonymizer: Pseudonymizer) -> None:
    text = "Anna Kowalski asked for a refund, call 415-555-2671 or mail anna.k@example.com."

    output = pseudonymizer.pseudonymize_text(text)

    assert TOKEN.findall(output) == ["PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS"]
    assert re.sub(TOKEN, "T", output) == "T asked for a refund, call T or mail T."


def test_the_same_name_gets_the_same_token_in_different_texts(
    pseudonymizer: Pseudonymizer,
) -> None:
    first = pseudonymizer.pseudonymize_text("Anna Kowalski called.")
    second = pseudonymizer.pseudonymize_text("Later, ANNA  KOWALSKI wrote again.")

    assert first.split()[0] == second.split()[1]


def test_tokens_differ_across_keys(pseudonymizer: Pseudonymizer, engine: TextEngine) -> None:
    other = Pseudonymizer(KEY_B, engine=engine)

    assert pseudonymizer.pseudonymize_text("Anna Kowalski called.") != other.pseudonymize_text(
        "Anna Kowalski called."
    )


def test_record_variants_all_get_the_token_of_the_full_name(
    pseudonymizer: Pseudonymizer,
) -> None:
    record = RecordIdentifiers.from_kinds({"name": ["John Smith"]})
    full = pseudonymizer.token("PERSON", "John Smith")

    output = pseudonymizer.pseudonymize_text("J. Smith, SMITH, John Smith.", record=record)

    assert output == f"{full}, {full}, {full}."


def test_texts_keep_their_order(pseudonymizer: Pseudonymizer) -> None:
    texts = ["nothing here", "Anna Kowalski called", "nothing here"]

    outputs = pseudonymizer.pseudonymize_texts(texts)

    assert outputs[0] == outputs[2] == "nothing here"
    assert outputs[1].endswith(" called") and outputs[1].startswith("<PERSON_")


def test_prefilter_skips_texts_no_recognizer_can_match() -> None:
    assert candidate_entities("plain lower-case words only") == []
    assert "PHONE_NUMBER" in candidate_entities("call 415 555 2671")
    assert "EMAIL_ADDRESS" in candidate_entities("a@b.example")


def test_prefilter_does_not_change_findings(engine: TextEngine) -> None:
    """The shortcuts are exact: the same findings with and without them."""
    unfiltered = TextEngine(engine.analyzer, prefilter=False, cache_size=0)
    events = pd.DataFrame(
        {"customer_id": [str(i) for i in range(60)], "quantity": 1.0, "amount": 12.5}
    )
    texts = [
        "Anna Kowalski, 415-555-2671, anna@example.com, 221B Baker Street",
        "Server 192.168.0.1 and https://example.org, card 4111 1111 1111 1111",
        "Rua Augusta 274; ul. Długa 5/7; Hauptstraße 5; 12 rue de la Paix; Via dei Fiori 5",
        "IBAN GB82 WEST 1234 5698 7654 32, SSN 078-05-1120, Phone: 467 3395",
        "nothing to see",
        *make_pii_events(events, seed=9)["note"],
    ]

    for text in texts:
        fast = [(r.entity_type, r.start, r.end) for r in engine.analyze(text)]
        slow = [(r.entity_type, r.start, r.end) for r in unfiltered.analyze(text)]
        assert fast == slow


def test_blank_pipeline_needs_no_model() -> None:
    nlp_engine = BlankSpacyNlpEngine()
    nlp_engine.load()

    artifacts = nlp_engine.process_text("Anna called", "en")

    assert [token.text for token in artifacts.tokens] == ["Anna", "called"]
    assert nlp_engine.get_supported_entities() == []


def test_missing_spacy_model_is_a_clear_error() -> None:
    with pytest.raises(NlpModelError, match="'xx_not_installed_sm' is not installed"):
        spacy_model_engine("xx_not_installed_sm")


def test_installed_spacy_model_is_used_from_a_folder(tmp_path: Path) -> None:
    """A model folder (here a saved blank pipeline) loads without any download."""
    model_dir = tmp_path / "model"
    spacy.blank("en").to_disk(model_dir)

    text_engine = spacy_model_engine(str(model_dir))
    output = Pseudonymizer(KEY_B, engine=text_engine).pseudonymize_text("mail anna@example.com")

    assert TOKEN.findall(output) == ["EMAIL_ADDRESS"]
    assert text_engine.prefilter is False
