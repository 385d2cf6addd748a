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
from collections.abc import Iterable, Sequence
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
from anonymization.parallel import Progress, map_chunks
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
NLP_BATCH: Final = 64
# Fictitious values that reach every offline recognizer and pass every pre-filter and gate.
WARM_UP_TEXT: Final = (
    "Dear Mr Anna Example, 12 Baker Street, anna@example.com, www.example.com, 192.0.2.1, "
    "IBAN GB82 WEST 1234 5698 7654 32, phone 415-555-2671, card 4111 1111 1111 1111"
)


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
        self._warm = False

    def clear_caches(self) -> None:
        """Forget cached texts, records and phone numbers (raw personal data held in memory)."""
        self._cache.clear()
        RecordLinkedRecognizer.for_record.cache_clear()
        clear_phone_cache()

    def warm_up(self, pseudonymizer: Pseudonymizer) -> None:
        """Run every recognizer once, so that what they build on first use (compiled patterns,
        phone metadata) is built now: before timing, or before forking workers that would each
        build it again."""
        if not self._warm:
            self.pseudonymize_chunk([(WARM_UP_TEXT, None)], pseudonymizer)
            self._warm = True

    def _plan(
        self, text: str, record: RecordIdentifiers | None
    ) -> tuple[list[str], list[EntityRecognizer]] | None:
        """The entities to look for in `text` and the ad-hoc recognizers; None when none can
        be found."""
        ad_hoc: list[EntityRecognizer] = []
        entities = candidate_entities(text) if self.prefilter else list(self._all_entities)
        if record is not None and not record.is_empty():
            ad_hoc.append(RecordLinkedRecognizer.for_record(record))
            entities += [e for e in RecordLinkedRecognizer.ENTITIES if e not in entities]
        if not entities or not text:
            return None
        return entities, ad_hoc

    def analyze(
        self, text: str, *, record: RecordIdentifiers | None = None
    ) -> list[RecognizerResult]:
        """Findings in `text` (and of `record`'s identifiers, when given), without overlaps."""
        return self.analyze_many([text], records=[record])[0]

    def analyze_many(
        self,
        texts: Sequence[str],
        *,
        records: Sequence[RecordIdentifiers | None] | None = None,
        batch_size: int = NLP_BATCH,
    ) -> list[list[RecognizerResult]]:
        """`analyze` of each text, in order (`records`, when given, pairs with `texts`).

        The NLP engine runs over the texts in batches (spaCy's `nlp.pipe` for a model), which
        is faster than one text at a time and gives the same findings.
        """
        paired = _paired(texts, records)
        plans = [self._plan(text, record) for text, record in zip(texts, paired, strict=True)]
        todo = [i for i, plan in enumerate(plans) if plan is not None]
        artifacts = self.analyzer.nlp_engine.process_batch(
            [texts[i] for i in todo], self.language, batch_size=batch_size
        )
        found: list[list[RecognizerResult]] = [[] for _ in texts]
        for i, (_, nlp_artifacts) in zip(todo, artifacts, strict=True):
            entities, ad_hoc = plans[i] or ([], [])
            results = self.analyzer.analyze(
                texts[i],
                language=self.language,
                entities=entities,
                ad_hoc_recognizers=ad_hoc or None,
                score_threshold=self.score_threshold,
                nlp_artifacts=nlp_artifacts,
            )
            found[i] = resolve_overlaps(results, texts[i])
        return found

    def pseudonymize(
        self, text: str, pseudonymizer: Pseudonymizer, *, record: RecordIdentifiers | None = None
    ) -> str:
        """`text` with each finding replaced by `pseudonymizer.token(entity_type, value)`."""
        return self.pseudonymize_many([text], pseudonymizer, records=[record])[0]

    def pseudonymize_many(
        self,
        texts: Sequence[str],
        pseudonymizer: Pseudonymizer,
        *,
        records: Sequence[RecordIdentifiers | None] | None = None,
        workers: int = 1,
        progress: Progress | None = None,
    ) -> list[str]:
        """`pseudonymize` of each text, in order; the same output whatever `workers` is.

        Repeated (text, record) pairs are analyzed once; the rest is analyzed in batches, in
        `workers` processes when more than one (forked from this one, see
        `anonymization.parallel`). `progress` is called with the number of texts just done.
        """
        paired = _paired(texts, records)
        output: list[str | None] = [None] * len(texts)
        pending: dict[tuple[str, RecordIdentifiers | None], list[int]] = {}
        for index, (text, record) in enumerate(zip(texts, paired, strict=True)):
            cache_key = (pseudonymizer.key_id, text, record)
            cached = self._cache.get(cache_key)
            if cached is not None:
                self._cache.move_to_end(cache_key)
                output[index] = cached
            else:
                pending.setdefault((text, record), []).append(index)
        if progress is not None and len(pending) < len(texts):
            progress(len(texts) - sum(len(at) for at in pending.values()))
        items = list(pending)

        def done(start: int, results: list[str]) -> None:
            finished = 0
            for item, result in zip(items[start : start + len(results)], results, strict=True):
                for index in pending[item]:
                    output[index] = result
                finished += len(pending[item])
                self._remember((pseudonymizer.key_id, *item), result)
            if progress is not None:
                progress(finished)

        map_chunks(self, pseudonymizer, items, workers=workers, on_chunk=done)
        finished = [text for text in output if text is not None]
        if len(finished) != len(texts):
            raise RuntimeError("pseudonymize_many lost texts")  # never expected
        return finished

    def _remember(self, cache_key: tuple[str, str, RecordIdentifiers | None], output: str) -> None:
        if self._cache_size <= 0:
            return
        self._cache[cache_key] = output
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def pseudonymize_chunk(
        self, items: Sequence[tuple[str, RecordIdentifiers | None]], pseudonymizer: Pseudonymizer
    ) -> list[str]:
        """`pseudonymize` of each (text, record), computed afresh (no cache), in order."""
        texts = [text for text, _ in items]
        found = self.analyze_many(texts, records=[record for _, record in items])
        return [
            self._replace(text, results, pseudonymizer)
            for text, results in zip(texts, found, strict=True)
        ]

    def _replace(
        self, text: str, results: list[RecognizerResult], pseudonymizer: Pseudonymizer
    ) -> str:
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


def _paired(
    texts: Sequence[str], records: Sequence[RecordIdentifiers | None] | None
) -> Sequence[RecordIdentifiers | None]:
    if records is None:
        return [None] * len(texts)
    if len(records) != len(texts):
        raise ValueError(f"got {len(texts)} texts but {len(records)} records")
    return records


@functools.cache
def default_engine() -> TextEngine:
    """The shared offline default: blank spaCy pipeline, pattern and name recognizers."""
    from anonymization.engines import offline_analyzer

    return TextEngine(offline_analyzer(), prefilter=True)


def spacy_model_engine(model_name: str, *, name_lists: bool = True) -> TextEngine:
    """A TextEngine on an installed spaCy model (NlpModelError when it is not installed)."""
    from anonymization.engines import spacy_model_analyzer

    return TextEngine(spacy_model_analyzer(model_name, name_lists=name_lists), prefilter=False)
