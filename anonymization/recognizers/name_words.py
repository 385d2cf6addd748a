"""Word-level rules of the offline name recognizer: word features, shapes and contexts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from anonymization.lexicon import NameLexicon, name_key

APOSTROPHE: Final = "\u2019"  # the typographic apostrophe, as in "O\u2019Neil"
WORD: Final = re.compile(r"[^\W\d_]+(?:['" + APOSTROPHE + r"-][^\W\d_]+)*")
POSSESSIVE: Final = ("'s", APOSTROPHE + "s")
# Phrases that name the next word: it is a name even when it is also a common word ("her maiden
# name is Key"), though not when it is a function word.
NAMING_CONTEXT: Final = (
    ("name",),
    ("name", "is"),
    ("name", "was"),
    ("named",),
    ("called",),
    ("call", "me"),
)
# Phrases after which a capitalised word that is not a common word is a name.
CONTEXT_BEFORE: Final = (
    ("i", "am"), ("i'm",), ("this", "is"), ("signed",), ("dear",), ("hi",), ("hello",),
    ("thanks",), ("ask", "for"), ("contact",), ("says",), ("said",),
)  # fmt: skip
MAX_NAME_WORDS: Final = 5
# Family-name endings common in Slavic, Nordic, Greek, Georgian, Romanian, Turkish and Persian
# names, which name lists of a few thousand entries per locale cover poorly.
SURNAME_ENDINGS: Final = (
    "ova", "eva", "ov", "ev", "vich", "ski", "sky", "ska", "enko", "sson", "dottir", "nen",
    "shvili", "adze", "poulos", "akis", "escu", "oglu", "zadeh",
)  # fmt: skip
SURNAME_ENDINGS_ACCENTED: Final = ("ić", "ová", "ská", "ný", "ná", "č")
MIN_SHAPED_LENGTH: Final = 5
MIN_PROPER_LENGTH: Final = 3
MEMO_SIZE: Final = 1 << 17
MAX_ACRONYM: Final = 4
SENTENCE_END: Final = frozenset(".!?:;\n\"'()[]>-\u2013\u2014*#|")
CONTRACTION: Final = re.compile(r"['\u2019](?:m|re|ve|ll|d|t)$", re.IGNORECASE)


@dataclass(slots=True)
class Word:
    """A word of the text, its span, its lookup key and what the lexicon says of it."""

    start: int
    end: int
    text: str
    key: str
    capitalised: bool
    initial: bool
    known: bool
    common: bool
    stop: bool


Features = tuple[str, bool, bool, bool, bool, bool]
"""key, capitalised, initial, known, common, stop"""


def word_features(surface: str, lexicon: NameLexicon) -> Features:
    """The features of one word (see `Features`)."""
    key = name_key(surface).replace(APOSTROPHE, "'")
    # "I'm", "Don't": contractions are words, never names.
    capitalised = surface[0].isupper() and not CONTRACTION.search(surface)
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


def split_words(text: str, lexicon: NameLexicon, memo: dict[str, Features]) -> list[Word]:
    """The words of `text` with their features; `memo` caches features by surface form."""
    words: list[Word] = []
    for match in WORD.finditer(text):
        start, end, surface = match.start(), match.end(), match.group()
        if surface.endswith(POSSESSIVE) and len(surface) > 2:
            surface, end = surface[:-2], end - 2
        known = memo.get(surface)
        if known is None:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            known = memo[surface] = word_features(surface, lexicon)
        words.append(Word(start, end, surface, *known))
    return words


def joined(text: str, left: Word, right: Word) -> bool:
    """Whether two words sit close enough to belong to one name."""
    gap = text[left.end : right.start]
    if gap in (" ", "-"):
        return True
    if left.initial and gap in (". ", "."):
        return True
    return gap.isspace() and len(gap) <= 2 and "\n" not in gap


def after_title(text: str, words: list[Word], index: int, lexicon: NameLexicon) -> bool:
    """Whether `words[index]` follows a title ("Mr", "Dr.", "Frau")."""
    if index == 0:
        return False
    previous = words[index - 1]
    gap = text[previous.end : words[index].start]
    return previous.key in lexicon.titles and gap in (" ", ". ", ".")


def after_context(words: list[Word], index: int, phrases: tuple[tuple[str, ...], ...]) -> bool:
    """Whether one of `phrases` (word keys) ends right before `words[index]`."""
    for phrase in phrases:
        size = len(phrase)
        if index >= size and tuple(w.key for w in words[index - size : index]) == phrase:
            return True
    return False


def sentence_start(text: str, start: int) -> bool:
    """Whether a word at `start` opens a sentence, line, quote or list item."""
    before = text[:start].rstrip(" \t")
    return not before or before[-1] in SENTENCE_END


def surname_shaped(word: Word) -> bool:
    """Whether the word ends like a family name (see SURNAME_ENDINGS)."""
    if len(word.key) < MIN_SHAPED_LENGTH:
        return False
    return word.key.endswith(SURNAME_ENDINGS) or word.text.endswith(SURNAME_ENDINGS_ACCENTED)


def around_initial(text: str, words: list[Word], index: int) -> bool:
    """Whether `words[index]` starts a "Given X. Family" shape: "Ravil G Yefimov"."""
    if index + 2 >= len(words):
        return False
    initial, family = words[index + 1], words[index + 2]
    return (
        initial.initial
        and joined(text, words[index], initial)
        and joined(text, initial, family)
        and family.capitalised
        and not family.common
        and len(family.text) > 1
    )


def acronym(word: Word) -> bool:
    """ "UN", "CDs", "DVDs": short words with two or more capitals."""
    return len(word.text) <= MAX_ACRONYM and sum(ch.isupper() for ch in word.text) >= 2


def name_like(word: Word, lexicon: NameLexicon) -> bool:
    """A word that may continue a name: capitalised, and a name, an initial or not common."""
    if not word.capitalised or word.key in lexicon.titles:
        return False
    return word.initial or (word.known and not word.stop) or not word.common
