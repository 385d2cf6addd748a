"""Errors of the coordinator."""

from __future__ import annotations

__all__ = [
    "ConfigMismatchError",
    "CoordinatorError",
    "NoPartnersError",
    "PartnerLimitError",
    "RunFinishedError",
    "RunLockedError",
]


class CoordinatorError(Exception):
    """Base class of the coordinator's errors."""


class NoPartnersError(CoordinatorError):
    """A round could not go on: too few partners replied with a usable update."""


class PartnerLimitError(CoordinatorError):
    """More partners than the audit log's checkpoints can carry cosignatures of; nothing was
    appended."""


class RunLockedError(CoordinatorError):
    """Another live process runs (or follows) this run directory; nothing was run."""


class RunFinishedError(CoordinatorError):
    """The run directory holds a finished run (its audit log has ``run_end``); nothing was run.

    ``rounds`` and ``final_model_hash`` are what the run-end record states.
    """

    def __init__(self, message: str, *, rounds: int, final_model_hash: str) -> None:
        super().__init__(message)
        self.rounds = rounds
        self.final_model_hash = final_model_hash


class ConfigMismatchError(CoordinatorError):
    """A run submitted again under a name whose stored run config differs; ``keys`` are the
    run-config keys (or manifest terms) that differ."""

    def __init__(self, message: str, *, keys: list[str]) -> None:
        super().__init__(message)
        self.keys = keys
