"""Exception types of the Merkle log layer, and `AuditError`, the base of every audit error.

`AuditError` lives here, in the package's lowest layer, so that `audit.merkle` needs nothing
above it while ``except AuditError`` still catches the errors of `audit.run` and
`audit.service`. Every failed check raises a `VerificationError` (or a subclass) that carries
what was expected and what was computed, so that a privacy officer can read exactly what
differed.
"""

from __future__ import annotations

__all__ = [
    "AuditError",
    "CheckpointError",
    "Evidence",
    "FormatError",
    "RootMismatchError",
    "SignatureError",
    "SplitViewError",
    "StaleCheckpointError",
    "StoreError",
    "VerificationError",
]

Evidence = bytes | int | str | None
"""A value a failed check names: a hash, a size or count, a text, or nothing."""


def _show(value: Evidence) -> str:
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


class AuditError(Exception):
    """Base class of every error raised by the audit package."""


class FormatError(AuditError, ValueError):
    """Text or bytes that do not parse: a note, checkpoint, key, bundle or leaf encoding."""


class StoreError(AuditError):
    """The log store cannot be opened or written (missing, wrong schema, read-only, refused)."""


class CheckpointError(AuditError):
    """The log refuses to sign or accept a checkpoint (not newer, or not consistent)."""


class StaleCheckpointError(CheckpointError):
    """A witness was shown a checkpoint smaller than the one it already cosigned."""


class VerificationError(AuditError):
    """A proof, signature, record or stored value failed verification.

    Attributes:
        message: What failed, in words.
        expected: The value the verifier expected (a hash, a size, a count), if any.
        computed: The value the verifier computed or found instead, if any.
    """

    def __init__(
        self, message: str, *, expected: Evidence = None, computed: Evidence = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.computed = computed

    def __str__(self) -> str:
        if self.expected is None and self.computed is None:
            return self.message
        return f"{self.message} (expected {_show(self.expected)}, computed {_show(self.computed)})"


class RootMismatchError(VerificationError):
    """A proof (or the leaves themselves) rebuilt another root than the one checked against.

    Modelled on transparency-dev/merkle's ``RootMismatchError``. The message names both
    roots in hex.

    Attributes:
        expected: The root the proof had to lead to (32 bytes).
        computed: The root the proof leads to (32 bytes).
    """

    expected: bytes
    computed: bytes

    def __init__(self, message: str, *, expected: bytes, computed: bytes) -> None:
        super().__init__(message, expected=expected, computed=computed)


class SignatureError(VerificationError):
    """A note signature or cosignature is missing, unknown or invalid."""


class SplitViewError(VerificationError):
    """A witness was shown a history inconsistent with the one it already cosigned."""
