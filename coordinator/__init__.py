"""The coordinator: Flower ServerApp, strategy and round loop."""

from coordinator.errors import CoordinatorError, NoPartnersError
from coordinator.progress import ProgressLog, read_progress

__all__ = [
    "CoordinatorError",
    "NoPartnersError",
    "ProgressLog",
    "read_progress",
]
