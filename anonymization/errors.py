"""Exceptions raised by the anonymization package.

Every message names the file, row or column at fault so that a partner can fix their input
without a traceback. No message ever contains a key, a raw identifier or a personal value.
"""

from __future__ import annotations


class AnonymizationError(Exception):
    """Base class of every error raised by `anonymization`."""


class KeyFileError(AnonymizationError):
    """A pseudonymization key file is missing, unreadable, malformed or too short."""


class SchemaError(AnonymizationError):
    """A partner schema is malformed or names a column the table does not have."""


class ConsentError(AnonymizationError):
    """Consent information is missing or cannot be interpreted."""


class ErasureListError(AnonymizationError):
    """An erasure list is malformed or was written under another key."""


class NlpModelError(AnonymizationError):
    """A configured spaCy model is not installed (it is never downloaded)."""


class TableError(AnonymizationError):
    """A partner table cannot be read, written or pseudonymized."""


class CommitmentError(AnonymizationError):
    """A data commitment or membership proof does not verify.

    Carries what was expected and what was computed, as the audit verifier does.
    """

    def __init__(self, message: str, *, expected: str = "", computed: str = "") -> None:
        detail = message
        if expected or computed:
            detail = f"{message} (expected {expected}, computed {computed})"
        super().__init__(detail)
        self.expected = expected
        self.computed = computed
