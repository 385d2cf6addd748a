"""Flower's strategy as the round loop drives it, and the partners it may select."""

from __future__ import annotations

import time
from typing import Any

from flwr.serverapp import Grid
from flwr.serverapp.strategy import DifferentialPrivacyServerSideFixedClipping, Strategy

from coordinator.defenses import make_aggregator
from federation import Metric, RunSettings


def make_strategy(settings: RunSettings, num_partners: int) -> Strategy:
    """FedAvg weighted by customers; with ``central-dp``, wrapped in Flower's server-side
    fixed-clipping DP strategy over equal weights (partner-level DP).

    ``min-partners`` is checked once, before the first round (the coordinator waits for that
    many); later rounds go on with whoever may still train, so the sampling minimums are 1
    (Flower's sampler would otherwise wait for refused partners).
    """
    base = make_aggregator(
        settings.aggregation,
        fraction_train=settings.fraction_train,
        weighted_by_key=Metric.UNIT_WEIGHT if settings.central_dp else Metric.NUM_EXAMPLES,
        trim_beta=settings.trim_beta,
    )
    if not settings.central_dp:
        return base
    return DifferentialPrivacyServerSideFixedClipping(
        base,
        noise_multiplier=settings.central_noise_multiplier,
        clipping_norm=settings.central_clipping_norm,
        num_sampled_clients=num_partners,
    )


def wait_for_nodes(grid: Grid, minimum: int, timeout: float = 300.0) -> list[int]:
    """The grid's nodes once ``minimum`` are connected, or whoever is there after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        nodes = list(grid.get_node_ids())
        if len(nodes) >= minimum or time.monotonic() > deadline:
            return nodes
        time.sleep(1.0)


class ActiveGrid:
    """The grid as the strategy sees it: only connected partners that may still train; with
    ``members``, only those nodes (the run's partners: a node that connects later is none)."""

    def __init__(self, grid: Grid, excluded: set[int], *, members: set[int] | None = None) -> None:
        self._grid = grid
        self.excluded = excluded
        self.members = members

    def get_node_ids(self) -> list[int]:
        return [
            n
            for n in self._grid.get_node_ids()
            if n not in self.excluded and (self.members is None or n in self.members)
        ]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._grid, name)
