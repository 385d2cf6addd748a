"""A synthetic PII-bearing partner table for tests, benchmarks and the demo.

CDNOW-style events joined with generated identities (Faker, several locales) and short notes that
sometimes mention the customer's own name, email or phone and sometimes other people. The same
events and seed always give the same table. Every person in it is fictitious.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import pandas as pd
from faker import Faker

from anonymization.normalize import strip_accents
from anonymization.schema import PartnerSchema

LOCALES: Final = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "sv_SE")
PII_COLUMNS: Final = ("name", "email", "phone", "address", "note", "consent")
CONSENT_RATE: Final = 0.9

_NEUTRAL: Final = (
    "Asked about the delivery time for {qty} CDs ordered last week.",
    "Prefers store pickup on weekends; paid by card at the counter.",
    "Returned one damaged case, exchanged for the same album.",
    "Interested in the jazz box set when it is back in stock.",
    "Complained that the parcel arrived late but kept the order.",
    "Wants to be told about new releases in the classical section.",
    "Order total {amount} dollars, gift wrapping requested.",
    "Happy with the service, will order again before the holidays.",
)
_SELF: Final = (
    "{name} called about a missing booklet.",
    "Spoke with {title} {last} about the refund.",
    "Note from {NAME}: leave the parcel with the neighbour.",
    "{initial}. {last} asked to change the delivery slot.",
    "Customer {last} wants the invoice re-issued.",
)
_CONTACT: Final = (
    "Send the invoice to {email} please.",
    "Call back on {phone} after six.",
    "Reachable at {phone_digits} or by mail.",
    "Confirmation went to {email}; no reply yet.",
)
_OTHER: Final = (
    "Gift for {other}, deliver to the office.",
    "{other} will collect the order on Friday.",
    "Recommended by {other}, who ordered the same set.",
)
_TITLES: Final = {"male": "Mr", "female": "Ms"}


@dataclass(frozen=True)
class Identity:
    """A fictitious person."""

    first: str
    last: str
    email: str
    phone: str
    address: str
    title: str

    @property
    def name(self) -> str:
        """Given name and surname."""
        return f"{self.first} {self.last}"


def _ascii(value: str) -> str:
    return re.sub(r"[^a-z]", "", strip_accents(value).casefold()) or "user"


def _identity(fake: Faker, rng: random.Random) -> Identity:
    sex = rng.choice(("male", "female"))
    first = fake.first_name_male() if sex == "male" else fake.first_name_female()
    last = fake.last_name()
    domain = rng.choice(("example.com", "example.org", "example.net", "mail.example.com"))
    email = f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 99)}@{domain}"
    return Identity(
        first=first,
        last=last,
        email=email,
        phone=str(fake.phone_number()),
        address=str(fake.address()).replace("\n", ", "),
        title=_TITLES[sex],
    )


def _note(rng: random.Random, me: Identity, other: Identity, quantity: float, amount: float) -> str:
    fields = {
        "qty": int(quantity) if quantity == quantity else 1,
        "amount": f"{amount:.2f}",
        "name": me.name,
        "NAME": me.name.upper(),
        "last": me.last,
        "initial": me.first[0],
        "title": me.title,
        "email": me.email,
        "phone": me.phone,
        "phone_digits": re.sub(r"\D", "", me.phone),
        "other": other.name,
    }
    draw = rng.random()
    if draw < 0.45:
        kinds: Sequence[tuple[str, ...]] = (_NEUTRAL, _NEUTRAL)
    elif draw < 0.65:
        kinds = (_SELF, _NEUTRAL)
    elif draw < 0.80:
        kinds = (_CONTACT, _NEUTRAL)
    elif draw < 0.95:
        kinds = (_OTHER, _NEUTRAL)
    else:
        kinds = (_SELF, _CONTACT)
    return " ".join(rng.choice(templates).format(**fields) for templates in kinds)


def make_identities(count: int, *, seed: int) -> list[Identity]:
    """`count` fictitious people drawn from several locales, deterministic by `seed`."""
    rng = random.Random(seed)
    fakers = []
    for offset, locale in enumerate(LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed * 1000 + offset)
        fakers.append(fake)
    return [_identity(rng.choice(fakers), rng) for _ in range(count)]


def make_pii_events(events: pd.DataFrame, *, seed: int) -> pd.DataFrame:
    """`events` (customer_id, timestamp, quantity, amount, ...) with identity, note and consent
    columns added: name, email, phone, address, note (about 100 characters), consent (bool).

    Each customer gets one identity and one consent decision (90% consent); notes are drawn per
    event. Deterministic for equal `events` and `seed`.
    """
    missing = [c for c in ("customer_id", "quantity", "amount") if c not in events.columns]
    if missing:
        raise ValueError(f"events lack columns {missing}")
    customers = list(dict.fromkeys(str(c) for c in events["customer_id"].tolist()))
    people = dict(zip(customers, make_identities(len(customers), seed=seed), strict=True))
    strangers = make_identities(max(16, len(customers) // 10), seed=seed + 1)
    rng = random.Random(seed + 2)
    consent = {customer: rng.random() < CONSENT_RATE for customer in customers}
    rows = zip(
        events["customer_id"].tolist(),
        events["quantity"].tolist(),
        events["amount"].tolist(),
        strict=True,
    )
    identity_rows: list[Identity] = []
    notes: list[str] = []
    consents: list[bool] = []
    for customer, quantity, amount in rows:
        me = people[str(customer)]
        identity_rows.append(me)
        notes.append(_note(rng, me, rng.choice(strangers), float(quantity), float(amount)))
        consents.append(consent[str(customer)])
    out = events.copy()
    out["name"] = [p.name for p in identity_rows]
    out["email"] = [p.email for p in identity_rows]
    out["phone"] = [p.phone for p in identity_rows]
    out["address"] = [p.address for p in identity_rows]
    out["note"] = notes
    out["consent"] = consents
    return out


def pii_schema() -> PartnerSchema:
    """The PartnerSchema matching `make_pii_events` output."""
    return PartnerSchema(
        customer_id="customer_id",
        identifier_columns={
            "name": "name",
            "email": "email",
            "phone": "phone",
            "address": "address",
        },
        text_columns=("note",),
        consent_column="consent",
    )


def write_pii_schema(path: str | os.PathLike[str]) -> PartnerSchema:
    """Write `pii_schema()` to `path` (.toml or .json) and return it."""
    schema = pii_schema()
    schema.save(path)
    return schema
