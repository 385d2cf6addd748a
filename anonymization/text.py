"""Free-text pseudonymization: Presidio's AnalyzerEngine finds, its AnonymizerEngine replaces.

With the offline default, a cheap pre-filter decides which recognizers can possibly fire on a
text (no digits: no phone or card; no "@": no email; no capital letter: no name) and skips
Presidio altogether for texts where none can; results for repeated texts are cached. Both are
exact shortcuts: they never change what is found, only how fast.
"""

from __future__ import annotations

import functools
import re
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerResult
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import ConflictResolutionStrategy, OperatorConfig

from anonymization.operator import (
    ALIASES_PARAM,
    OPERATOR_NAME,
    TOKENIZER_PARAM,
    KeyedTokenOperator,
)
from anonymization.recognizers.patterns import clear_phone_cache
from anonymization.recognizers.record_linked import LINKED_VALUE_KEY, RecordLinkedRecognizer
from anonymization.record import RecordIdentifiers

if TYPE_CHECKING:
    from anonymization.pseudonyms import Pseudonymizer

_DIGIT: Final = re.compile(r"\d")
_DIGIT_RUN: Final = re.compile(r"\d(?:[\s().\-/]{0,2}\d){6}")
_IP: Final = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:")
_IBAN: Final = re.compile(r"[A-Z]{2}\d{2}")
_URLISH: Final = re.compile(r"://|www\.|[A-Za-z0-9-]\.[a-z]{2,}")


def candidate_entities(text: str) -> list[str]:
    """Entities whose offline recognizers could match `text` (a superset of what they find)."""
    entities: list[str] = []
    if "@" in text:
        entities.append("EMAIL_ADDRESS")
    if _URLISH.search(text):
        entities.append("URL")
    if _DIGIT.search(text):
        entities.append("STREET_ADDRESS")
    if _DIGIT_RUN.search(text):
        entities += ["PHONE_NUMBER", "CREDIT_CARD", "US_SSN"]
        if _IBAN.search(text):
            entities.append("IBAN_CODE")
    if _IP.search(text):
        entities.append("IP_ADDRESS")
    if not text.islower() and any(ch.isupper() for ch in text):
        entities.append("PERSON")
    return entities


def resolve_overlaps(
    results: Iterable[RecognizerResult], text: str | None = None
) -> list[RecognizerResult]:
    """Non-overlapping results, sorted by start, that cover every character some result covered.

    A result lying inside a longer one is dropped (a URL or a name inside an email address);
    otherwise the higher score wins the shared characters (the record's own identifiers, scored
    1.0, win over list-based guesses) and the other result keeps only what is left of it, so that
    no character of a finding escapes replacement. Ties go to the longer, then earlier, span.
    With `text`, trimmed remainders lose leading and trailing spaces and punctuation.
    """
    pending = list(results)
    contained = {
        id(r)
        for r in pending
        for other in pending
        if other is not r
        and other.start <= r.start
        and r.end <= other.end
        and (other.end - other.start, other.score) > (r.end - r.start, r.score)
    }
    ordered = sorted(
        (r for r in pending if id(r) not in contained),
        key=lambda r: (-r.score, -(r.end - r.start), r.start),
    )
    kept: list[RecognizerResult] = []
    for result in ordered:
        pieces = [(result.start, result.end)]
        for other in kept:
            pieces = [p for piece in pieces for p in _subtract(piece, other.start, other.end)]
        for start, end in pieces:
            if text is not None:
                while start < end and not text[start].isalnum():
                    start += 1
                while end > start and not text[end - 1].isalnum():
                    end -= 1
            if end <= start:
                continue
            if (start, end) == (result.start, result.end):
                kept.append(result)
            else:
                kept.append(
                    RecognizerResult(
                        result.entity_type,
                        start,
                        end,
                        result.score,
                        result.analysis_explanation,
                        result.recognition_metadata,
                    )
                )
    return sorted(kept, key=lambda r: (r.start, r.end))


def _subtract(piece: tuple[int, int], start: int, end: int) -> list[tuple[int, int]]:
    """`piece` minus the interval [start, end)."""
    low, high = piece
    if end <= low or high <= start:
        return [piece]
    return [(a, b) for a, b in ((low, start), (end, high)) if a < b]


class TextEngine:
    """Analyze and pseudonymize free text with one Presidio analyzer.

    `prefilter` must only be true for analyzers whose recognizers `candidate_entities` covers
    (the offline default); an NER model can find entities no cheap test predicts.
    """

    def __init__(
        self,
        analyzer: AnalyzerEngine,
        *,
        language: str = "en",
        prefilter: bool = False,
        score_threshold: float = 0.3,
        cache_size: int = 16384,
    ) -> None:
        self.analyzer = analyzer
        self.language = language
        self.prefilter = prefilter
        self.score_threshold = score_threshold
        self._anonymizer = AnonymizerEngine()  # type: ignore[no-untyped-call]
        self._anonymizer.add_anonymizer(KeyedTokenOperator)
        self._cache: OrderedDict[tuple[str, str, RecordIdentifiers | None], str] = OrderedDict()
        self._cache_size = cache_size
        self._all_entities = sorted(analyzer.get_supported_entities(language))

    def clear_caches(self) -> None:
        """Forget cached texts, records and phone numbers (raw personal data held in memory)."""
        self._cache.clear()
        RecordLinkedRecognizer.for_record.cache_clear()
        clear_phone_cache()

    def analyze(
        self, text: str, *, record: RecordIdentifiers | None = None
    ) -> list[RecognizerResult]:
        """Findings in `text` (and of `record`'s identifiers, when given), without overlaps."""
        ad_hoc: list[EntityRecognizer] = []
        entities = candidate_entities(text) if self.prefilter else list(self._all_entities)
        if record is not None and not record.is_empty():
            ad_hoc.append(RecordLinkedRecognizer.for_record(record))
            entities += [e for e in RecordLinkedRecognizer.ENTITIES if e not in entities]
        if not entities or not text:
            return []
        results = self.analyzer.analyze(
            text,
            language=self.language,
            entities=entities,
            ad_hoc_recognizers=ad_hoc or None,
            score_threshold=self.score_threshold,
        )
        return resolve_overlaps(results, text)

    def pseudonymize(
        self, text: str, pseudonymizer: Pseudonymizer, *, record: RecordIdentifiers | None = None
    ) -> str:
        """`text` with each finding replaced by `pseudonymizer.token(entity_type, value)`."""
        cache_key = (pseudonymizer.key_id, text, record)
        cached = self._cache.get(cache_key)
        if cached is not None:
            self._cache.move_to_end(cache_key)
            return cached
        output = self._pseudonymize(text, pseudonymizer, record)
        self._cache[cache_key] = output
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return output

    def _pseudonymize(
        self, text: str, pseudonymizer: Pseudonymizer, record: RecordIdentifiers | None
    ) -> str:
        results = self.analyze(text, record=record)
        if not results:
            return text
        aliases = {
            text[r.start : r.end]: r.recognition_metadata[LINKED_VALUE_KEY]
            for r in results
            if r.recognition_metadata and LINKED_VALUE_KEY in r.recognition_metadata
        }
        operator = OperatorConfig(
            OPERATOR_NAME, {TOKENIZER_PARAM: pseudonymizer.token, ALIASES_PARAM: aliases}
        )
        # The results no longer overlap: Presidio's conflict handling has nothing left to do.
        anonymized = self._anonymizer.anonymize(
            text=text,
            analyzer_results=results,  # type: ignore[arg-type]
            operators={"DEFAULT": operator},
            conflict_resolution=ConflictResolutionStrategy.REMOVE_INTERSECTIONS,
            merge_entities_with_spaces=False,
        )
        return str(anonymized.text)


@functools.cache
def default_engine() -> TextEngine:
    """The shared offline default: blank spaCy pipeline, pattern and name recognizers."""
    from anonymization.engines import offline_analyzer

    return TextEngine(offline_analyzer(), prefilter=True)


def spacy_model_engine(model_name: str, *, name_lists: bool = True) -> TextEngine:
    """A TextEngine on an installed spaCy model (NlpModelError when it is not installed)."""
    from anonymization.engines import spacy_model_analyzer

    return TextEngine(spacy_model_analyzer(model_name, name_lists=name_lists), prefilter=False)
