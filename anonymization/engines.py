"""Presidio analyzers: the offline default and one on an installed spaCy model.

The default `AnalyzerEngine()` loads (and tries to download) en_core_web_lg, which fails offline.
The offline default needs no model: its recognizers (patterns, name lists, a record's own
identifiers) read the text itself, never tokens or lemmas, so it runs on Presidio's
`NoOpNlpEngine`, which tokenizes nothing (tokenizing took about 40% of the time of a short text).
`BlankSpacyNlpEngine` (a spaCy tokenizer, no entities) remains for analyzers whose recognizers
read tokens, such as Presidio's stock set.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import spacy
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import (
    NerModelConfiguration,
    NlpArtifacts,
    NoOpNlpEngine,
    SpacyNlpEngine,
)
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from anonymization.errors import NlpModelError
from anonymization.recognizers.names import OfflineNameRecognizer
from anonymization.recognizers.patterns import DEFAULT_PHONE_REGIONS, default_pattern_recognizers

logger = logging.getLogger(__name__)


class BlankSpacyNlpEngine(SpacyNlpEngine):
    """Presidio NLP engine over `spacy.blank(language)`: tokens, no entities, no download."""

    def __init__(self, language: str = "en") -> None:
        super().__init__(
            models=[{"lang_code": language, "model_name": f"blank:{language}"}],
            ner_model_configuration=NerModelConfiguration(),
        )
        self._language = language

    def load(self) -> None:
        """Build the blank pipeline."""
        self.nlp = {self._language: spacy.blank(self._language)}  # type: ignore[assignment]

    def get_supported_entities(self) -> list[str]:
        """A blank pipeline recognises no entities."""
        return []

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        """Tokens and their offsets; lower-cased words stand in for lemmas, which a blank
        pipeline does not produce. Reads the arrays spaCy keeps rather than building a Token
        object per word (twice as fast on short texts)."""
        doc = self.get_nlp(language).make_doc(text)
        strings = doc.vocab.strings
        # Built without the engine, NlpArtifacts skips deriving keywords (two vocabulary lookups
        # a word), which only Presidio's lemma context enhancer reads; see NoContextEnhancer.
        artifacts = NlpArtifacts(
            entities=[],
            tokens=doc,
            tokens_indices=doc.to_array("IDX").tolist(),
            lemmas=[strings[h] for h in doc.to_array("LOWER").tolist()],
            nlp_engine=None,
            language=language,
        )
        artifacts.nlp_engine = self
        return artifacts

    def process_batch(  # type: ignore[override]
        self,
        texts: Iterable[str],
        language: str,
        batch_size: int = 1,
        n_process: int = 1,
        as_tuples: bool = False,
    ) -> Iterator[tuple[str, NlpArtifacts]]:
        """(text, `process_text(text)`) for each text: the same artifacts as one at a time
        (Presidio's batch would take lemmas from the blank pipeline, which has none)."""
        if as_tuples:
            raise ValueError("BlankSpacyNlpEngine.process_batch takes plain texts")
        for text in texts:
            yield text, self.process_text(text, language)


class NoContextEnhancer(ContextAwareEnhancer):
    """Leaves scores as the recognizers set them.

    Presidio's default enhancer raises scores when context words appear among a text's lemmas; a
    blank pipeline has none, so the default only costs time (it deep-copies every result). The
    offline recognizers apply their own context rules (titles and phrases before names, phone
    words before digit runs).
    """

    def __init__(self) -> None:
        super().__init__(
            context_similarity_factor=0.0,
            min_score_with_context_similarity=0.0,
            context_prefix_count=0,
            context_suffix_count=0,
        )

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        """`raw_results`, unchanged."""
        return raw_results


class InstalledSpacyNlpEngine(SpacyNlpEngine):
    """Presidio NLP engine over an installed spaCy model (package name or folder); never
    downloads.

    Raises NlpModelError at construction when the model is not installed.
    """

    def __init__(self, model_name: str, language: str = "en") -> None:
        if not (spacy.util.is_package(model_name) or Path(model_name).is_dir()):
            raise NlpModelError(
                f"spaCy model {model_name!r} is not installed; install its package "
                f"(python -m spacy download {model_name} where a network is available) "
                "or give the path of a model folder"
            )
        super().__init__(models=[{"lang_code": language, "model_name": model_name}])

    def load(self) -> None:
        """Load the model; a model that fails to load is reported as NlpModelError."""
        model = self.models[0]
        try:
            self.nlp = {model["lang_code"]: spacy.load(model["model_name"])}  # type: ignore[assignment]
        except (OSError, ValueError) as err:
            raise NlpModelError(f"spaCy model {model['model_name']!r} failed to load") from err


def _registry(recognizers: list[EntityRecognizer], language: str) -> RecognizerRegistry:
    return RecognizerRegistry(recognizers=recognizers, supported_languages=[language])


def offline_analyzer(
    *, language: str = "en", phone_regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS
) -> AnalyzerEngine:
    """Presidio AnalyzerEngine with the offline recognizers, on Presidio's no-op NLP engine.

    Notes:
        None of these recognizers (nor `RecordLinkedRecognizer`, added per record) reads the NLP
        artifacts, so the engine produces none; a recognizer added here that reads tokens or
        lemmas needs `BlankSpacyNlpEngine` instead.
    """
    recognizers: list[EntityRecognizer] = [
        *default_pattern_recognizers(phone_regions=phone_regions),
        OfflineNameRecognizer(supported_language=language),
    ]
    nlp_engine = NoOpNlpEngine(models=[{"lang_code": language, "model_name": "no_op"}])
    return AnalyzerEngine(
        nlp_engine=nlp_engine,
        registry=_registry(recognizers, language),
        supported_languages=[language],
        context_aware_enhancer=NoContextEnhancer(),
    )


def spacy_model_analyzer(
    model_name: str,
    *,
    language: str = "en",
    phone_regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS,
    name_lists: bool = True,
) -> AnalyzerEngine:
    """Presidio AnalyzerEngine on an installed spaCy model: its NER plus the pattern
    recognizers, and the offline name recognizer too unless `name_lists` is false.

    Raises NlpModelError when the model is not installed.
    """
    nlp_engine = InstalledSpacyNlpEngine(model_name, language)
    nlp_engine.load()
    recognizers: list[EntityRecognizer] = [
        *default_pattern_recognizers(phone_regions=phone_regions),
        SpacyRecognizer(
            supported_language=language, supported_entities=nlp_engine.get_supported_entities()
        ),
    ]
    if name_lists:
        recognizers.append(OfflineNameRecognizer(supported_language=language))
    logger.info("analyzer on spaCy model %s", model_name)
    return AnalyzerEngine(
        nlp_engine=nlp_engine,
        registry=_registry(recognizers, language),
        supported_languages=[language],
    )


def describe(analyzer: AnalyzerEngine) -> dict[str, Any]:
    """Recognizer names and entities of `analyzer`, for reports."""
    return {
        "recognizers": sorted(type(r).__name__ for r in analyzer.registry.recognizers),
        "entities": sorted(analyzer.get_supported_entities()),
    }
