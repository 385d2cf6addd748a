"""A record's own identifiers found in its own free text, in their common variants.

Names match as word sequences, whatever the case, spacing and punctuation between words
("John Smith", "JOHN  SMITH", "Smith, John", "J. Smith"); a given name or surname alone matches
only when written with a capital ("Smith", "SMITH", not "smith"). Emails match case-insensitively;
phone numbers by their digits, with or without separators or a country code; customer ids and
other identifiers by their letters and digits.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from anonymization.lexicon import name_key
from anonymization.normalize import alnum, canonical, digits
from anonymization.record import RecordIdentifiers

LINKED_VALUE_KEY: Final = "linked_value"
ENTITY_BY_KIND: Final = {
    "name": "PERSON",
    "email": "EMAIL_ADDRESS",
    "phone": "PHONE_NUMBER",
    "address": "STREET_ADDRESS",
    "customer_id": "CUSTOMER_ID",
    "other": "ID",
}

_WORD: Final = re.compile(r"[^\W_]+")
_EMAIL: Final = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_DIGIT_RUN: Final = re.compile(r"\+?\d(?:[\d\s().\-/]*\d)?")
_DIGIT_GROUP: Final = re.compile(r"\d+")
_CODE: Final = re.compile(r"[^\W_](?:[\w./#-]*[^\W_])?")
_ID_CONTEXT: Final = frozenset({"id", "customer", "client", "account", "no", "nr", "number"})
_MIN_PHONE_DIGITS: Final = 7
_SHORT_NUMERIC_ID: Final = 5
_MAX_GAP: Final = 3


def _name_variants(name: str) -> tuple[list[tuple[str, ...]], set[str]]:
    """Word-key sequences that spell `name`, and the single words that may stand alone."""
    parts = [name_key(part) for part in _WORD.findall(name)]
    if not parts:
        return [], set()
    # In order of preference; a fixed order keeps results independent of hash seeds.
    sequences: list[tuple[str, ...]] = [tuple(parts)]
    if len(parts) >= 2:
        given, family = parts[0], parts[-1]
        sequences += [(given, family), (family, *parts[:-1]), (family, given), (given[0], family)]
    singles = {part for part in (parts[0], parts[-1]) if len(part) >= 2}
    multi = [seq for seq in dict.fromkeys(sequences) if len(seq) >= 2]
    multi.sort(key=len, reverse=True)
    return multi, singles


class RecordLinkedRecognizer(EntityRecognizer):
    """Finds the values of one `RecordIdentifiers` in text; build it with `for_record`.

    Results carry the matched identifier's canonical value under
    recognition_metadata[LINKED_VALUE_KEY], so every variant gets the token of the value itself.
    """

    ENTITIES: Final = tuple(sorted(set(ENTITY_BY_KIND.values())))

    def __init__(self, record: RecordIdentifiers, *, supported_language: str = "en") -> None:
        self._record = record
        self._names = [(name, *_name_variants(name)) for name in record.names]
        self._emails = {email.casefold(): email for email in record.emails}
        self._phones = {digits(phone): phone for phone in record.phones}
        self._phones = {key: value for key, value in self._phones.items() if key}
        self._addresses = [
            (address, tuple(name_key(w) for w in _WORD.findall(re.split(r"[\n,]", address)[0])))
            for address in record.addresses
        ]
        codes = [("CUSTOMER_ID", record.customer_id)] if record.customer_id else []
        codes += [("ID", other) for other in record.others]
        self._codes = {alnum(value): (entity, value) for entity, value in codes if alnum(value)}
        super().__init__(
            supported_entities=list(self.ENTITIES),
            supported_language=supported_language,
            name="RecordLinkedRecognizer",
        )

    @staticmethod
    @functools.lru_cache(maxsize=4096)
    def for_record(record: RecordIdentifiers) -> RecordLinkedRecognizer:
        """A recognizer for `record`, shared by rows that carry the same identifiers."""
        return RecordLinkedRecognizer(record)

    def load(self) -> None:
        """Nothing to load."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Spans of the record's identifiers in `text`, scored 1.0."""
        wanted = set(entities) if entities else set(self.ENTITIES)
        found: list[tuple[str, int, int, str, str]] = []
        words = None
        if self._names or self._addresses:
            words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
            keys = [name_key(word) for _, _, word in words]
            if "PERSON" in wanted:
                found += self._match_names(text, words, keys)
            if "STREET_ADDRESS" in wanted:
                found += self._match_addresses(text, words, keys)
        if self._emails and "EMAIL_ADDRESS" in wanted and "@" in text:
            for match in _EMAIL.finditer(text):
                value = self._emails.get(match.group().casefold())
                if value is not None:
                    found.append(("EMAIL_ADDRESS", match.start(), match.end(), "email", value))
        if self._phones and "PHONE_NUMBER" in wanted:
            found += self._match_phones(text)
        if self._codes and wanted & {"CUSTOMER_ID", "ID"}:
            found += self._match_codes(text)
        return [self._result(*item) for item in found if item[0] in wanted]

    def _result(self, entity: str, start: int, end: int, kind: str, value: str) -> RecognizerResult:
        return RecognizerResult(
            entity_type=entity,
            start=start,
            end=end,
            score=1.0,
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: type(self).__name__,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                LINKED_VALUE_KEY: canonical(kind, value),
            },
        )

    def _match_names(
        self, text: str, words: list[tuple[int, int, str]], keys: list[str]
    ) -> list[tuple[str, int, int, str, str]]:
        found: list[tuple[str, int, int, str, str]] = []
        taken: set[int] = set()
        present = set(keys)
        for name, sequences, singles in self._names:
            if present.isdisjoint(singles) and not any(seq[0] in present for seq in sequences):
                continue
            for sequence in sequences:
                if sequence[0] not in present:
                    continue
                for first, last in _find_sequence(text, words, keys, sequence):
                    indices = set(range(first, last + 1))
                    if indices & taken:
                        continue
                    taken |= indices
                    found.append(("PERSON", words[first][0], words[last][1], "name", name))
            for index, key in enumerate(keys):
                word = words[index][2]
                if index not in taken and key in singles and word[0].isupper():
                    taken.add(index)
                    found.append(("PERSON", words[index][0], words[index][1], "name", name))
        return found

    def _match_addresses(
        self, text: str, words: list[tuple[int, int, str]], keys: list[str]
    ) -> list[tuple[str, int, int, str, str]]:
        found: list[tuple[str, int, int, str, str]] = []
        for address, sequence in self._addresses:
            if len(sequence) < 2:
                continue
            for first, last in _find_sequence(text, words, keys, sequence):
                found.append(
                    ("STREET_ADDRESS", words[first][0], words[last][1], "address", address)
                )
        return found

    def _match_phones(self, text: str) -> list[tuple[str, int, int, str, str]]:
        found: list[tuple[str, int, int, str, str]] = []
        for run in _DIGIT_RUN.finditer(text):
            groups = list(_DIGIT_GROUP.finditer(run.group()))
            # Try every contiguous run of digit groups: "call 415 555 2671 12 times".
            for first in range(len(groups)):
                joined = ""
                for last in range(first, len(groups)):
                    joined += groups[last].group()
                    if len(joined) < _MIN_PHONE_DIGITS:
                        continue
                    value = self._phone_value(joined)
                    if value is not None:
                        start = run.start() + groups[first].start()
                        if first == 0 and run.group().startswith("+"):
                            start = run.start()
                        end = run.start() + groups[last].end()
                        found.append(("PHONE_NUMBER", start, end, "phone", value))
                        break
                else:
                    continue
                break
        return found

    def _phone_value(self, candidate: str) -> str | None:
        for key, value in self._phones.items():
            if candidate == key:
                return value
            shorter, longer = sorted((candidate, key), key=len)
            # Country code or trunk prefix on one side only: "+1 415..." vs "415...".
            if (
                len(shorter) >= _MIN_PHONE_DIGITS
                and len(longer) - len(shorter) <= 4
                and longer.endswith(shorter.lstrip("0"))
            ):
                return value
        return None

    def _match_codes(self, text: str) -> list[tuple[str, int, int, str, str]]:
        found: list[tuple[str, int, int, str, str]] = []
        squashed = alnum(text)
        if not any(code in squashed for code in self._codes):
            return found
        previous: list[str] = []
        for match in _CODE.finditer(text):
            code = match.group()
            hit = self._codes.get(alnum(code))
            if hit is not None:
                entity, value = hit
                short_number = code.isdigit() and len(code) < _SHORT_NUMERIC_ID
                if (
                    not short_number
                    or _ID_CONTEXT & set(previous[-2:])
                    or text[max(0, match.start() - 1) : match.start()] == "#"
                ):
                    kind = "customer_id" if entity == "CUSTOMER_ID" else "other"
                    found.append((entity, match.start(), match.end(), kind, value))
            previous.append(code.casefold())
        return found


def _find_sequence(
    text: str, words: list[tuple[int, int, str]], keys: list[str], sequence: tuple[str, ...]
) -> list[tuple[int, int]]:
    """(first, last) word indices where consecutive words spell `sequence`, separated by at most
    a few spaces or punctuation marks and no line break."""
    size = len(sequence)
    spans: list[tuple[int, int]] = []
    index = 0
    while index + size <= len(keys):
        if (
            keys[index] == sequence[0]
            and tuple(keys[index : index + size]) == sequence
            and all(
                _close(text, words[i][1], words[i + 1][0]) for i in range(index, index + size - 1)
            )
        ):
            spans.append((index, index + size - 1))
            index += size
        else:
            index += 1
    return spans


def _close(text: str, end: int, start: int) -> bool:
    gap = text[end:start]
    return len(gap) <= _MAX_GAP and "\n" not in gap and not any(ch.isalnum() for ch in gap)
