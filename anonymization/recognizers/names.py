"""An offline person-name recognizer: name lists plus capitalisation, titles and context.

No model is downloaded. A capitalised word that is a given or family name in any of Faker's
locales, and not a common word, starts a name; the name then grows over neighbouring
capitalised words, initials ("D.") and particles ("van", "de la"). A capitalised word after a
title ("Mr", "Frau", "Dr.") or after "my name is" is a name even when no list holds it.
"""

from __future__ import annotations

from typing import Final

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from anonymization.lexicon import PARTICLES, NameLexicon, name_lexicon
from anonymization.recognizers.name_words import (
    CONTEXT_BEFORE,
    MAX_NAME_WORDS,
    MIN_PROPER_LENGTH,
    NAMING_CONTEXT,
    Features,
    Word,
    acronym,
    after_context,
    after_title,
    around_initial,
    joined,
    name_like,
    sentence_start,
    split_words,
    surname_shaped,
)


class OfflineNameRecognizer(EntityRecognizer):
    """Finds PERSON spans without an NER model.

    Scores: 0.85 for a name of two or more words or one introduced by a title or context phrase,
    0.6 for a single listed name.

    Notes:
        Lower-case names, names written as common words ("Will", "Rose") standing alone, and
        names from scripts and locales Faker does not cover are missed; place names that are
        also personal names ("Florence", "Jordan") are taken for names. See
        `simulations/bench_pii.py` for measured recall and leakage.
    """

    ENTITIES: Final = ("PERSON",)

    def __init__(
        self,
        *,
        supported_language: str = "en",
        lexicon: NameLexicon | None = None,
        proper_nouns: bool = True,
    ):
        self._lexicon = lexicon
        self._proper_nouns = proper_nouns
        self._memo: dict[str, Features] = {}
        super().__init__(
            supported_entities=list(self.ENTITIES),
            supported_language=supported_language,
            name="OfflineNameRecognizer",
        )

    def load(self) -> None:
        """Build the lexicon now rather than on the first text."""
        if self._lexicon is None:
            self._lexicon = name_lexicon()

    @property
    def lexicon(self) -> NameLexicon:
        """The name lists in use."""
        if self._lexicon is None:
            self._lexicon = name_lexicon()
        return self._lexicon

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """PERSON results with exact character spans in `text`."""
        if entities and "PERSON" not in entities:
            return []
        return [
            RecognizerResult("PERSON", start, end, score) for start, end, score in self.spans(text)
        ]

    def spans(self, text: str) -> list[tuple[int, int, float]]:
        """(start, end, score) of each name found in `text`, left to right."""
        if not any(ch.isupper() for ch in text):
            return []
        lexicon = self.lexicon
        words = split_words(text, lexicon, self._memo)
        found: list[tuple[int, int, float]] = []
        index = 0
        while index < len(words):
            word = words[index]
            if not word.capitalised or word.initial or word.key in lexicon.titles:
                index += 1
                continue
            introduced = (
                after_title(text, words, index, lexicon)
                or (not word.stop and after_context(words, index, NAMING_CONTEXT))
                or (
                    not word.common
                    and (
                        after_context(words, index, CONTEXT_BEFORE)
                        or around_initial(text, words, index)
                    )
                )
            )
            seed = introduced or (
                not word.common and not acronym(word) and (word.known or surname_shaped(word))
            )
            proper = (
                not seed
                and self._proper_nouns
                and not word.common
                and not acronym(word)
                and len(word.key) >= MIN_PROPER_LENGTH
                and not sentence_start(text, word.start)
            )
            if not seed and not proper:
                index += 1
                continue
            first, last = self._grow(text, words, index)
            if first == last and not introduced and word.common:
                index += 1
                continue
            score = 0.85 if introduced or last > first else 0.6
            if proper and first == last:
                score = 0.35
            found.append((words[first].start, words[last].end, score))
            index = last + 1
        return self._repeat_mentions(words, found)

    def _repeat_mentions(
        self, words: list[Word], found: list[tuple[int, int, float]]
    ) -> list[tuple[int, int, float]]:
        """Add later bare mentions of a word of a multi-word name: "... Faina Yefremova ...
        early Yefremova"."""
        parts = {
            word.key
            for start, end, _ in found
            for word in words
            if start <= word.start
            and word.end <= end
            and word.end - word.start > 1
            and not word.common
            and (start, end) != (word.start, word.end)
        }
        if not parts:
            return found
        covered = [(start, end) for start, end, _ in found]
        extra = [
            (word.start, word.end, 0.6)
            for word in words
            if word.capitalised
            and word.key in parts
            and not any(start <= word.start < end for start, end in covered)
        ]
        return sorted(found + extra)

    def _grow(self, text: str, words: list[Word], seed: int) -> tuple[int, int]:
        """Indices of the first and last word of the name around `words[seed]`."""
        lexicon = self.lexicon
        first = last = seed
        while first > 0 and last - first + 1 < MAX_NAME_WORDS:
            candidate = words[first - 1]
            if not joined(text, candidate, words[first]) or not name_like(candidate, lexicon):
                break
            first -= 1
        while last + 1 < len(words) and last - first + 1 < MAX_NAME_WORDS:
            candidate = words[last + 1]
            if joined(text, words[last], candidate) and (
                name_like(candidate, lexicon)
                # A capitalised common word right after a given name is its surname
                # ("Olgierd Front"), unless it is a function word ("Anna Will").
                or (
                    candidate.capitalised
                    and not candidate.stop
                    and words[last].key in lexicon.given
                    and candidate.key not in lexicon.titles
                )
            ):
                last += 1
                continue
            # A particle joins only when a capitalised name word follows it ("van Dijk").
            if (
                candidate.text in PARTICLES
                and last + 2 < len(words)
                and joined(text, words[last], candidate)
                and joined(text, candidate, words[last + 2])
                and name_like(words[last + 2], lexicon)
            ):
                last += 2
                continue
            break
        # A leading capital letter is an initial only when a period follows it ("J. Smith"):
        # "I" and "A" at the start of a sentence are words.
        while (
            first < last
            and words[first].initial
            and text[words[first].end : words[first].end + 1] != "."
        ):
            first += 1
        return first, last
