"""The coordinator: Flower ServerApp, strategy and round loop."""

from coordinator.errors import CoordinatorError, NoPartnersError
from coordinator.model_store import load_model_state, save_model, state_sha256
from coordinator.progress import ProgressLog, read_progress

__all__ = [
    "CoordinatorError",
    "NoPartnersError",
    "ProgressLog",
    "load_model_state",
    "read_progress",
    "save_model",
    "state_sha256",
]
