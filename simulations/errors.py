"""Errors of researcher simulations."""

from __future__ import annotations

__all__ = ["SimulationError"]


class SimulationError(Exception):
    """A simulation could not be prepared, run or reported."""
