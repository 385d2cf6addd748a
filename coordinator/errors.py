"""Errors of the coordinator."""

from __future__ import annotations

__all__ = ["CoordinatorError", "NoPartnersError"]


class CoordinatorError(Exception):
    """Base class of the coordinator's errors."""


class NoPartnersError(CoordinatorError):
    """A round could not go on: too few partners replied with a usable update."""
