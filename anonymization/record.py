"""The identifiers of one record, used to find that record's own values in its free text."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from anonymization.normalize import IDENTIFIER_KINDS


def is_missing(value: object) -> bool:
    """None, NaN, pandas NA or NaT."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _values(raw: Iterable[object]) -> tuple[str, ...]:
    kept: list[str] = []
    for value in raw:
        if is_missing(value):
            continue
        text = str(value).strip()
        if text and text not in kept:
            kept.append(text)
    return tuple(kept)


@dataclass(frozen=True, slots=True)
class RecordIdentifiers:
    """A record's identifiers by kind. Hashable, so recognizers built from it can be cached.

    Notes:
        Holds raw personal values: keep it in memory only, never log or persist it.
    """

    customer_id: str | None = None
    names: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    others: tuple[str, ...] = ()

    def __repr__(self) -> str:
        counts = ", ".join(
            f"{field}={len(getattr(self, field))}"
            for field in ("names", "emails", "phones", "addresses", "others")
        )
        return f"RecordIdentifiers(<redacted>, {counts})"

    @classmethod
    def from_kinds(cls, values: Mapping[str, Iterable[object]]) -> RecordIdentifiers:
        """Build from {kind: values}, kinds among IDENTIFIER_KINDS; missing values are skipped."""
        unknown = sorted(set(values) - set(IDENTIFIER_KINDS))
        if unknown:
            raise ValueError(f"unknown identifier kinds {unknown}; known: {IDENTIFIER_KINDS}")
        ids = _values(values.get("customer_id", ()))
        return cls(
            customer_id=ids[0] if ids else None,
            names=_values(values.get("name", ())),
            emails=_values(values.get("email", ())),
            phones=_values(values.get("phone", ())),
            addresses=_values(values.get("address", ())),
            others=_values(values.get("other", ())),
        )

    def is_empty(self) -> bool:
        """Whether there is nothing to look for."""
        return not (
            self.customer_id
            or self.names
            or self.emails
            or self.phones
            or self.addresses
            or self.others
        )
