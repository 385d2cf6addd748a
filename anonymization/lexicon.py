"""Word lists for the offline person-name recognizer, built from packages already installed.

Given names and family names come from Faker's person providers in every locale it ships
(86 locales, about 50,000 distinct names); English common words (which must not be taken for
names on their own: "Will", "May", "Rose", "Long") from Faker's English lorem list, spaCy's English
stop words, and month and weekday names. Built once, on first use.
"""

from __future__ import annotations

import functools
import importlib
import logging
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass

from anonymization.normalize import strip_accents

logger = logging.getLogger(__name__)

# Common words are English only: the notes this project reads are English, and other languages'
# function words are often given names in English text ("Sara" is Italian for "will be",
# "Ella" Spanish for "she", "Donna" Italian for "woman").
_LOREM_LOCALES = ("en_US",)
_STOPWORD_LANGUAGES = ("en",)

# Titles that introduce a name. Kept explicit: Faker's prefix lists also hold words ("Chief",
# "Prince", "Don", "Le") whose next word is not reliably a name.
_TITLES = frozenset(
    {
        "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "madam", "madame",
        "mister", "herr", "frau", "fraulein", "mme", "mlle", "monsieur", "mademoiselle", "sr",
        "sra", "srta", "senor", "senora", "senorita", "dona", "sig", "signor", "signora",
        "signorina", "dott", "dottssa", "pan", "pani", "dhr", "mevr", "rev", "fr",
    }
)  # fmt: skip

# Lower-case words that may sit inside a name: "Ludwig van Beethoven", "Maria de la Cruz".
PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le", "bin",
     "ibn", "ter", "ten", "dos", "das", "y"}
)  # fmt: skip

_EXTRA_COMMON = frozenset(
    {
        "january", "february", "march", "april", "may", "june", "july", "august", "september",
        "october", "november", "december", "monday", "tuesday", "wednesday", "thursday",
        "friday", "saturday", "sunday", "hi", "hello", "dear", "thanks", "thank", "regards",
        "customer", "order", "please", "note", "notes", "call", "email", "phone", "mail",
        "asked", "said", "wants", "address", "delivery", "today", "tomorrow", "yesterday",
        "christmas", "easter", "ok", "okay", "yes", "no", "god", "lord", "king", "queen",
        "date", "name", "st", "street", "road", "avenue", "lane", "ltd", "inc", "corp", "llc",
    }
)  # fmt: skip


@functools.lru_cache(maxsize=1 << 16)
def name_key(token: str) -> str:
    """The lookup key of a word: accents removed, case folded (cached: words repeat)."""
    if token.isascii():
        return token.casefold()
    return strip_accents(token).casefold()


@dataclass(frozen=True)
class NameLexicon:
    """Keys (see `name_key`) of given names, family names, common words, function words (a
    subset of the common words) and titles."""

    given: frozenset[str]
    family: frozenset[str]
    common: frozenset[str]
    stop: frozenset[str]
    titles: frozenset[str]

    def is_name(self, key: str) -> bool:
        """Whether `key` is a given or family name in any locale."""
        return key in self.given or key in self.family


def _flatten(values: Iterable[object]) -> Iterable[str]:
    for value in values:
        if isinstance(value, tuple | list):
            yield from _flatten(value)
        else:
            yield str(value)


def _words(values: Iterable[object]) -> set[str]:
    keys: set[str] = set()
    for value in _flatten(values):
        for part in value.replace("-", " ").split():
            key = name_key(part.strip(".,'\u2019"))
            if len(key) >= 2 and key.isalpha():
                keys.add(key)
    return keys


def _person_providers() -> Iterable[type]:
    import faker.providers.person as person

    for module in pkgutil.iter_modules(person.__path__):
        yield importlib.import_module(f"faker.providers.person.{module.name}").Provider


def _stop_words() -> set[str]:
    stop: set[str] = set()
    for language in _STOPWORD_LANGUAGES:
        module = importlib.import_module(f"spacy.lang.{language}.stop_words")
        stop.update(name_key(word) for word in module.STOP_WORDS)
    return stop | _EXTRA_COMMON


def _common_words() -> set[str]:
    common: set[str] = set()
    for locale in _LOREM_LOCALES:
        lorem = importlib.import_module(f"faker.providers.lorem.{locale}").Provider
        common.update(name_key(word) for word in lorem.word_list)
    return common


@functools.cache
def name_lexicon() -> NameLexicon:
    """The shared lexicon (built on first call, about 0.3 s)."""
    given: set[str] = set()
    family: set[str] = set()
    for provider in _person_providers():
        for attribute in dir(provider):
            values = getattr(provider, attribute)
            if not isinstance(values, list | tuple | dict):
                continue
            # first_names*, first_romanized_names* (ja_JP, zh_CN), first_name_pairs, ...
            if attribute.startswith(("first_name", "first_romanized", "middle_name")):
                given.update(_words(values))
            elif "last_name" in attribute or attribute.startswith("last_romanized"):
                family.update(_words(values))
    given -= PARTICLES
    family -= PARTICLES
    stop = _stop_words()
    lexicon = NameLexicon(
        given=frozenset(given),
        family=frozenset(family),
        common=frozenset(_common_words() | stop),
        stop=frozenset(stop),
        titles=_TITLES,
    )
    logger.debug(
        "name lexicon: %d given names, %d family names, %d common words",
        len(lexicon.given),
        len(lexicon.family),
        len(lexicon.common),
    )
    return lexicon
