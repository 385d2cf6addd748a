"""Canonical forms of identifiers, so that formatting variants share one pseudonym.

"John  SMITH" and "john smith" are the same name; "+1 (415) 555-2671" and "14155552671" the
same phone number. Pseudonyms and text tokens are computed over these canonical forms.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

IDENTIFIER_KINDS: Final = ("address", "customer_id", "email", "name", "other", "phone")

_SPACES = re.compile(r"\s+")
_NON_DIGITS = re.compile(r"\D+")
_NON_ALNUM = re.compile(r"[\W_]+")


def fold(value: str) -> str:
    """Case-fold, NFC-normalise and collapse whitespace."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip().casefold()


def strip_accents(value: str) -> str:
    """Drop combining marks: "Szöllösy" -> "Szollosy"."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def digits(value: str) -> str:
    """Only the digits of `value`."""
    return _NON_DIGITS.sub("", value)


def alnum(value: str) -> str:
    """Only the letters and digits of `value`, case-folded."""
    return _NON_ALNUM.sub("", value).casefold()


def canonical(kind: str, value: str) -> str:
    """The canonical form of an identifier of `kind` (one of IDENTIFIER_KINDS or an entity type).

    Customer ids are kept exact apart from surrounding whitespace: "007" and "7" are different
    customers in most source systems.
    """
    if kind == "customer_id":
        return value.strip()
    if kind in ("phone", "PHONE_NUMBER"):
        return digits(value)
    if kind in ("CREDIT_CARD", "IBAN_CODE", "US_SSN"):
        return alnum(value)
    if kind in ("name", "PERSON"):
        return fold(value.replace(".", " "))
    return fold(value)
