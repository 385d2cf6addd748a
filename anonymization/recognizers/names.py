"""An offline person-name recognizer: name lists plus capitalisation, titles and context.

No model is downloaded. A capitalised word that is a given or family name in any of Faker's
locales, and not a common word, starts a name; the name then grows over neighbouring
capitalised words, initials ("D.") and particles ("van", "de la"). A capitalised word after a
title ("Mr", "Frau", "Dr.") or after "my name is" is a name even when no list holds it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from anonymization.lexicon import PARTICLES, NameLexicon, name_key, name_lexicon

_APOSTROPHE: Final = "\u2019"  # the typographic apostrophe, as in "O\u2019Neil"
_WORD: Final = re.compile(r"[^\W\d_]+(?:['" + _APOSTROPHE + r"-][^\W\d_]+)*")
_POSSESSIVE: Final = ("'s", _APOSTROPHE + "s")
# Phrases that name the next word: it is a name even when it is also a common word ("her maiden
# name is Key"), though not when it is a function word.
_NAMING_CONTEXT: Final = (
    ("name",),
    ("name", "is"),
    ("name", "was"),
    ("named",),
    ("called",),
    ("call", "me"),
)
# Phrases after which a capitalised word that is not a common word is a name.
_CONTEXT_BEFORE: Final = (
    ("i", "am"), ("i'm",), ("this", "is"), ("signed",), ("dear",), ("hi",), ("hello",),
    ("thanks",), ("ask", "for"), ("contact",), ("says",), ("said",),
)  # fmt: skip
_MAX_NAME_WORDS: Final = 5
# Family-name endings common in Slavic, Nordic, Greek, Georgian, Romanian, Turkish and Persian
# names, which name lists of a few thousand entries per locale cover poorly.
_SURNAME_ENDINGS: Final = (
    "ova", "eva", "ov", "ev", "vich", "ski", "sky", "ska", "enko", "sson", "dottir", "nen",
    "shvili", "adze", "poulos", "akis", "escu", "oglu", "zadeh",
)  # fmt: skip
_SURNAME_ENDINGS_ACCENTED: Final = ("ić", "ová", "ská", "ný", "ná", "č")
_MIN_SHAPED_LENGTH: Final = 5
_MIN_PROPER_LENGTH: Final = 3
_MEMO_SIZE: Final = 1 << 17
_MAX_ACRONYM: Final = 4
_SENTENCE_END: Final = frozenset(".!?:;\n\"'()[]>-\u2013\u2014*#|")
_CONTRACTION: Final = re.compile(r"['\u2019](?:m|re|ve|ll|d|t)$", re.IGNORECASE)


@dataclass(slots=True)
class _Word:
    start: int
    end: int
    text: str
    key: str
    capitalised: bool
    initial: bool
    known: bool
    common: bool
    stop: bool


_Features = tuple[str, bool, bool, bool, bool, bool]
"""key, capitalised, initial, known, common, stop"""


def _features(surface: str, lexicon: NameLexicon) -> _Features:
    key = name_key(surface).replace(_APOSTROPHE, "'")
    # "I'm", "Don't": contractions are words, never names.
    capitalised = surface[0].isupper() and not _CONTRACTION.search(surface)
    if not capitalised:
        # Only capitalised words can be names: skip the lexicon for the rest.
        return key, False, False, False, False, False
    return (
        key,
        True,
        len(surface) == 1,
        len(key) > 1 and lexicon.is_name(key),
        key in lexicon.common,
        key in lexicon.stop,
    )


def _words(text: str, lexicon: NameLexicon, memo: dict[str, _Features]) -> list[_Word]:
    words: list[_Word] = []
    for match in _WORD.finditer(text):
        start, end, surface = match.start(), match.end(), match.group()
        if surface.endswith(_POSSESSIVE) and len(surface) > 2:
            surface, end = surface[:-2], end - 2
        features = memo.get(surface)
        if features is None:
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            features = memo[surface] = _features(surface, lexicon)
        words.append(_Word(start, end, surface, *features))
    return words


def _joined(text: str, left: _Word, right: _Word) -> bool:
    """Whether two words sit close enough to belong to one name."""
    gap = text[left.end : right.start]
    if gap in (" ", "-"):
        return True
    if left.initial and gap in (". ", "."):
        return True
    return gap.isspace() and len(gap) <= 2 and "\n" not in gap


def _after_title(text: str, words: list[_Word], index: int, lexicon: NameLexicon) -> bool:
    if index == 0:
        return False
    previous = words[index - 1]
    gap = text[previous.end : words[index].start]
    return previous.key in lexicon.titles and gap in (" ", ". ", ".")


def _after_context(words: list[_Word], index: int, phrases: tuple[tuple[str, ...], ...]) -> bool:
    for phrase in phrases:
        size = len(phrase)
        if index >= size and tuple(w.key for w in words[index - size : index]) == phrase:
            return True
    return False


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
        self._memo: dict[str, _Features] = {}
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
        words = _words(text, lexicon, self._memo)
        found: list[tuple[int, int, float]] = []
        index = 0
        while index < len(words):
            word = words[index]
            if not word.capitalised or word.initial or word.key in lexicon.titles:
                index += 1
                continue
            introduced = (
                _after_title(text, words, index, lexicon)
                or (not word.stop and _after_context(words, index, _NAMING_CONTEXT))
                or (
                    not word.common
                    and (
                        _after_context(words, index, _CONTEXT_BEFORE)
                        or _around_initial(text, words, index)
                    )
                )
            )
            seed = introduced or (
                not word.common and not _acronym(word) and (word.known or _surname_shaped(word))
            )
            proper = (
                not seed
                and self._proper_nouns
                and not word.common
                and not _acronym(word)
                and len(word.key) >= _MIN_PROPER_LENGTH
                and not _sentence_start(text, word.start)
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
        self, words: list[_Word], found: list[tuple[int, int, float]]
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

    def _grow(self, text: str, words: list[_Word], seed: int) -> tuple[int, int]:
        """Indices of the first and last word of the name around `words[seed]`."""
        lexicon = self.lexicon
        first = last = seed
        while first > 0 and last - first + 1 < _MAX_NAME_WORDS:
            candidate = words[first - 1]
            if not _joined(text, candidate, words[first]) or not _name_like(candidate, lexicon):
                break
            first -= 1
        while last + 1 < len(words) and last - first + 1 < _MAX_NAME_WORDS:
            candidate = words[last + 1]
            if _joined(text, words[last], candidate) and (
                _name_like(candidate, lexicon)
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
                and _joined(text, words[last], candidate)
                and _joined(text, candidate, words[last + 2])
                and _name_like(words[last + 2], lexicon)
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


def _sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t")
    return not before or before[-1] in _SENTENCE_END


def _surname_shaped(word: _Word) -> bool:
    if len(word.key) < _MIN_SHAPED_LENGTH:
        return False
    return word.key.endswith(_SURNAME_ENDINGS) or word.text.endswith(_SURNAME_ENDINGS_ACCENTED)


def _around_initial(text: str, words: list[_Word], index: int) -> bool:
    """Whether `words[index]` starts a "Given X. Family" shape: "Ravil G Yefimov"."""
    if index + 2 >= len(words):
        return False
    initial, family = words[index + 1], words[index + 2]
    return (
        initial.initial
        and _joined(text, words[index], initial)
        and _joined(text, initial, family)
        and family.capitalised
        and not family.common
        and len(family.text) > 1
    )


def _acronym(word: _Word) -> bool:
    """ "UN", "CDs", "DVDs": short words with two or more capitals."""
    return len(word.text) <= _MAX_ACRONYM and sum(ch.isupper() for ch in word.text) >= 2


def _name_like(word: _Word, lexicon: NameLexicon) -> bool:
    """A word that may continue a name: capitalised, and a name, an initial or not common."""
    if not word.capitalised or word.key in lexicon.titles:
        return False
    return word.initial or (word.known and not word.stop) or not word.common
