"""Presidio's pattern recognizers, adjusted to run offline, fast, and with fewer false positives.

- Email: Presidio validates the domain with tldextract, whose default tries to download the
  public-suffix list; here it reads the snapshot bundled with tldextract, never the network.
- Phone: python-phonenumbers scans the whole text once per region (about 0.3 ms for a
  100-character text and eight regions); here it only sees the digit runs that could be a number,
  stops at the first region that accepts one, and remembers recent answers.
- URL: Presidio's pattern matches inside words ("end.It" is a ".it" domain) and inside email
  addresses; here a match must start and end on a word boundary and must not touch an "@".
- Credit card: a Luhn-valid digit run after a card word counts even when its issuer prefix or
  length is not among Presidio's patterns.
- The country-specific recognizers (UK_NHS, US_BANK_NUMBER, US_DRIVER_LICENSE, ...) are left out
  of the default set: on retail notes their checksums fire on ordinary phone numbers (a US number
  such as 415-555-2671 passes the NHS check).
"""

from __future__ import annotations

import functools
import re
from typing import Final

import phonenumbers
import tldextract
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UrlRecognizer,
    UsSsnRecognizer,
)

from anonymization.recognizers.address import StreetAddressRecognizer

# suffix_list_urls=() and cache_dir=None: use the bundled snapshot, write nothing, fetch nothing.
_OFFLINE_TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

_PHONE_CANDIDATE: Final = re.compile(
    r"(?<!\w)(?:\+\s?)?\(?\d[\d\s().\-/]{5,22}\d(?:\s?x\d{1,5})?(?!\d)"
)
_MIN_PHONE_DIGITS: Final = 7
_MAX_PHONE_DIGITS: Final = 15
# Words that announce a phone number shortly before it: a run of 7 to 15 digits after one of them
# is taken as a phone number even when python-phonenumbers does not validate it for any region.
_PHONE_CONTEXT: Final = re.compile(
    r"(?i)\b(?:phone|telephone|tel|mobile|cell|cellphone|fax|desk|office|call|ring|text|"
    r"whatsapp|number|contact|reach)\b\W{0,3}(?:\w+\W{1,3}){0,3}$"
)
_CONTEXT_WINDOW: Final = 40

DEFAULT_PHONE_REGIONS: Final = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")


@functools.lru_cache(maxsize=16384)
def _phone_matches(
    window: str, regions: tuple[str, ...], leniency: int
) -> tuple[tuple[int, int, str], ...]:
    """(start, end, region) of the numbers in `window` under the first region that finds any."""
    for region in regions:
        found = tuple(
            (match.start, match.end, region)
            for match in phonenumbers.PhoneNumberMatcher(window, region, leniency=leniency)
        )
        if found:
            return found
    return ()


class OfflineEmailRecognizer(EmailRecognizer):
    """EMAIL_ADDRESS with the domain checked against tldextract's bundled suffix list."""

    def validate_result(self, pattern_text: str) -> bool:
        """Whether the address has a registrable domain."""
        return bool(_OFFLINE_TLD(pattern_text.rpartition("@")[2]).fqdn)


def clear_phone_cache() -> None:
    """Forget the phone numbers remembered by `WindowedPhoneRecognizer`."""
    _phone_matches.cache_clear()


class WindowedPhoneRecognizer(PhoneRecognizer):
    """PHONE_NUMBER via python-phonenumbers, run only on candidate digit runs."""

    def __init__(self, *, regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS) -> None:
        super().__init__(supported_regions=regions, name="WindowedPhoneRecognizer")
        self._regions = tuple(regions)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Phone numbers in `text`, with spans relative to `text`."""
        results: list[RecognizerResult] = []
        for candidate in _PHONE_CANDIDATE.finditer(text):
            window = candidate.group()
            if sum(ch.isdigit() for ch in window) < _MIN_PHONE_DIGITS:
                continue
            offset = candidate.start()
            matches = _phone_matches(window, self._regions, self.leniency or 0)
            digit_count = sum(ch.isdigit() for ch in window)
            if (
                not matches
                and digit_count <= _MAX_PHONE_DIGITS
                and _PHONE_CONTEXT.search(text[max(0, offset - _CONTEXT_WINDOW) : offset])
            ):
                matches = ((0, len(window.rstrip(" .-/(")), "context"),)
            for start, end, region in matches:
                results.append(
                    RecognizerResult(
                        entity_type="PHONE_NUMBER",
                        start=offset + start,
                        end=offset + end,
                        score=self.SCORE,
                        analysis_explanation=self._get_analysis_explanation(region),  # type: ignore[no-untyped-call]
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: type(self).__name__,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                        },
                    )
                )
        return results


_CARD_RUN: Final = re.compile(r"(?<![\w-])\d(?:[ -]?\d){11,18}(?![\w-])")
_CARD_CONTEXT: Final = re.compile(r"(?i)\b(?:card|visa|mastercard|amex|maestro|cc)\b")


class ContextCardRecognizer(CreditCardRecognizer):
    """CREDIT_CARD: Presidio's issuer patterns, plus any Luhn-valid run of 12 to 19 digits shortly
    after a card word ("my card 4030 8743 9774 0603 788"), which catches issuers and lengths the
    patterns do not list."""

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Card numbers in `text`."""
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for run in _CARD_RUN.finditer(text):
            if any(r.start <= run.start() and run.end() <= r.end for r in results):
                continue
            before = text[max(0, run.start() - _CONTEXT_WINDOW) : run.start()]
            if _CARD_CONTEXT.search(before) and _luhn_valid(run.group()):
                results.append(
                    RecognizerResult(
                        entity_type="CREDIT_CARD",
                        start=run.start(),
                        end=run.end(),
                        score=0.5,
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: type(self).__name__,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                        },
                    )
                )
        return results


def _luhn_valid(number: str) -> bool:
    digits_only = [int(ch) for ch in number if ch.isdigit()]
    checksum = 0
    for position, digit in enumerate(reversed(digits_only)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        checksum += digit
    return checksum % 10 == 0


class BoundedUrlRecognizer(UrlRecognizer):
    """URL matches that start and end on word boundaries and are not part of an email."""

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """URLs in `text`."""
        if "." not in text:
            return []
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return [result for result in results if _plausible_url(text, result.start, result.end)]


def _plausible_url(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if before.isalnum() or before in "@.-_" or after.isalnum() or after in "@-_":
        return False
    url = text[start:end]
    if "@" in url:
        return False
    # "end.It was" is two sentences, not a domain: a capitalised word after the last dot.
    host = url.split("/", 3)[2] if "://" in url else url.split("/", 1)[0]
    tail = host.rpartition(".")[2]
    return not (tail[:1].isupper() and tail[1:].islower())


def default_pattern_recognizers(
    *, phone_regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS
) -> list[EntityRecognizer]:
    """The pattern recognizers of the offline default pipeline."""
    return [
        OfflineEmailRecognizer(),
        WindowedPhoneRecognizer(regions=phone_regions),
        ContextCardRecognizer(),
        IbanRecognizer(),
        IpRecognizer(),
        BoundedUrlRecognizer(),
        UsSsnRecognizer(),
        StreetAddressRecognizer(),
    ]
