"""Errors of the partner node."""

from __future__ import annotations

__all__ = ["ClientNodeError", "ModelRefusedError", "PartnerDataError"]


class ClientNodeError(Exception):
    """Base class of the client node's errors."""


class PartnerDataError(ClientNodeError):
    """The partner's data cannot be used (missing, malformed, or empty after filtering)."""


class ModelRefusedError(ClientNodeError):
    """A final model sent home does not match the run_end record this node cosigned."""
