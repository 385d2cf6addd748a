"""Exception types of fedinsight's run records.

Both derive from the errors of `audit.merkle` (and so from `AuditError`): a bad record is a
`ValueError`, a broken budget rule a `VerificationError` carrying expected and computed.
"""

from __future__ import annotations

from audit.merkle import AuditError, VerificationError

__all__ = ["BudgetError", "RecordError"]


class RecordError(AuditError, ValueError):
    """A run record that fails validation (missing field, wrong type, non-canonical value),
    or that is out of sequence."""


class BudgetError(VerificationError):
    """A partner's cumulative epsilon exceeds its budget, or its budget changed."""
