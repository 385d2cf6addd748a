"""Researcher experiments on one machine: partners, splits, sweeps, reports."""

from simulations.errors import SimulationError
from simulations.runner import SimulationResult, SimulationSpec, run_simulation

__all__ = ["SimulationError", "SimulationResult", "SimulationSpec", "run_simulation"]
