"""Keyed pseudonyms: HMAC-SHA256 under a per-partner secret.

Within one partner and key a value always maps to the same pseudonym; without the key, pseudonyms
of two partners cannot be linked, and a pseudonym reveals nothing about its value.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from anonymization.errors import KeyFileError
from anonymization.keys import KEY_BYTES
from anonymization.normalize import canonical

if TYPE_CHECKING:
    from anonymization.record import RecordIdentifiers
    from anonymization.text import TextEngine

PSEUDONYM_HEX = 32
TOKEN_HEX = 8
_DOMAIN = b"fedinsight/pseudonym/v1\x00"
_TOKEN_DOMAIN = b"fedinsight/text-token/v1\x00"
_KEY_ID_DOMAIN = b"fedinsight/key-id/v1"


class Pseudonymizer:
    """Pseudonyms and text tokens under one partner's key.

    Requires `key` to be exactly 32 bytes (see `load_key`).

    Notes:
        Pseudonyms are 128-bit truncations of HMAC-SHA256 over a domain tag, the identifier kind
        and its canonical form, so a customer id and an email that happen to be equal strings
        still get different pseudonyms. Text tokens keep only 32 bits: they make repeated
        mentions recognisable inside one partner's text and are not meant as identifiers.
    """

    __slots__ = ("_engine", "_key")

    def __init__(self, key: bytes, *, engine: TextEngine | None = None) -> None:
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            size = len(key) if isinstance(key, bytes) else type(key).__name__
            raise KeyFileError(f"a pseudonymization key must be {KEY_BYTES} bytes, got {size}")
        self._key = key
        self._engine = engine

    def __repr__(self) -> str:
        return f"Pseudonymizer(key_id={self.key_id!r})"

    @property
    def key_id(self) -> str:
        """A public fingerprint of the key (16 hex characters), safe to store and log."""
        return hmac.new(self._key, _KEY_ID_DOMAIN, hashlib.sha256).hexdigest()[:16]

    def pseudonym(self, value: object, *, kind: str = "customer_id") -> str:
        """The 32-hex-character pseudonym of `value` as an identifier of `kind`."""
        message = _DOMAIN + kind.encode() + b"\x00" + canonical(kind, str(value)).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]

    def pseudonyms(self, values: Iterable[object], *, kind: str = "customer_id") -> list[str]:
        """`pseudonym` of each value, in order."""
        return [self.pseudonym(value, kind=kind) for value in values]

    def token(self, entity_type: str, value: str) -> str:
        """A typed token such as "<PERSON_3f9a1c2b>" that stands for `value` in free text."""
        message = (
            _TOKEN_DOMAIN + entity_type.encode() + b"\x00" + canonical(entity_type, value).encode()
        )
        digest = hmac.new(self._key, message, hashlib.sha256).hexdigest()[:TOKEN_HEX]
        return f"<{entity_type}_{digest}>"

    @property
    def engine(self) -> TextEngine:
        """The text engine in use (the shared offline default unless one was given)."""
        if self._engine is None:
            from anonymization.text import default_engine

            self._engine = default_engine()
        return self._engine

    def clear_caches(self) -> None:
        """Forget the raw texts and identifiers the text engine cached. The engine is built on
        first use, so a table without text columns never loads Presidio, nor clears it."""
        if self._engine is not None:
            self._engine.clear_caches()

    def pseudonymize_text(self, text: str, *, record: RecordIdentifiers | None = None) -> str:
        """`text` with every detected personal value replaced by its typed token.

        With `record`, that record's own identifiers are found too, in their common variants.
        """
        return self.engine.pseudonymize(text, self, record=record)

    def pseudonymize_texts(
        self,
        texts: Sequence[str],
        *,
        records: Sequence[RecordIdentifiers | None] | None = None,
        workers: int = 1,
    ) -> list[str]:
        """`pseudonymize_text` over many texts, in order; `records`, when given, pairs with
        `texts`. Analyzed in batches, in `workers` processes when more than one (see
        `anonymization.parallel` for when that is wise); the output is the same either way."""
        return self.engine.pseudonymize_many(texts, self, records=records, workers=workers)
