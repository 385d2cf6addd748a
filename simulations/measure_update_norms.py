"""How far honest partners move the global model in a round: the figures behind the default
bound of ``coordinator.defenses.check_update``'s ``max_update_norm``.

Run ``python -m simulations.measure_update_norms`` (``--rounds 3`` for a shorter run).

CDNOW split as a plain ``flwr run .`` splits it (the run config's split, partners and seed), each
partner trained by the ClientApp's own ``client_node.task.train_round`` with a fresh node state
(privacy ledger) per scenario, and the updates averaged as FedAvg does (weighted by customers),
in-process, without Flower. For every round it prints the min / median / max over partners of
the L2 norm of (update - global model), for the run config's defaults with DP on and off, and
with twice the local epochs.
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
import tempfile
from dataclasses import replace
from pathlib import Path

import torch

from client_node.node_settings import NodeSettings
from client_node.node_state import NodeState
from client_node.task import train_round
from coordinator.defenses import update_norm
from federation import RunSettings
from insight import (
    CustomerSequenceModel,
    PartnerData,
    load_dataset,
    partition_customers,
    prepare_partner,
)

StateDict = dict[str, torch.Tensor]


def load_partners(settings: RunSettings) -> list[PartnerData]:
    table = load_dataset(settings.dataset, settings.data_path or None, settings.columns)
    part = partition_customers(
        table.events,
        settings.split,
        num_partners=settings.num_partners,
        seed=settings.seed,
        calibration_end=settings.calibration_timestamp,
    )
    periods, features = settings.periods(), settings.feature_config()
    return [
        prepare_partner(
            name,
            table.events[table.events["customer_id"].isin(set(ids))],
            periods=periods,
            features=features,
        )
        for name, ids in sorted(part.partners.items())
    ]


def fedavg(states: list[StateDict], weights: list[int]) -> StateDict:
    """The customer-weighted mean, as Flower's FedAvg computes it."""
    w = torch.tensor(weights, dtype=torch.float32) / sum(weights)
    return {
        key: torch.tensordot(w, torch.stack([s[key] for s in states]), dims=1) for key in states[0]
    }


def measure(settings: RunSettings, partners: list[PartnerData], rounds: int) -> list[list[float]]:
    """Per round, each partner's update norm; rounds stop early if every partner refuses."""
    torch.manual_seed(settings.seed)
    global_state = CustomerSequenceModel().state_dict()
    # Without DP a partner must have no budget, or it refuses (client_node.task).
    node = NodeSettings(epsilon_budget=settings.epsilon_budget if settings.dp else math.inf)
    norms: list[list[float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(1, rounds + 1):
            states, weights, row = [], [], []
            for data in partners:
                outcome = train_round(
                    global_state,
                    data,
                    settings,
                    node,
                    NodeState(Path(tmp) / data.name).ensure(),
                    run_id="measure-update-norms",
                    server_round=rnd,
                )
                if outcome.state is None:
                    continue
                states.append(outcome.state)
                weights.append(data.train.num_customers)
                row.append(update_norm(outcome.state, global_state))
            if not states:
                break
            norms.append(row)
            global_state = fedavg(states, weights)
    return norms


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    base = RunSettings()
    partners = load_partners(base)
    print(
        f"CDNOW, split {base.split}, seed {base.seed}: "
        + ", ".join(f"{p.name} {p.train.num_customers}" for p in partners)
    )
    scenarios = {
        f"DP on, local-epochs {base.local_epochs}": base,
        f"DP off, local-epochs {base.local_epochs}": replace(base, dp=False),
        f"DP on, local-epochs {2 * base.local_epochs}": replace(
            base, local_epochs=2 * base.local_epochs
        ),
        f"DP off, local-epochs {2 * base.local_epochs}": replace(
            base, dp=False, local_epochs=2 * base.local_epochs
        ),
    }
    largest = 0.0
    print(f"{'scenario':<26} {'round':>5} {'n':>2} {'min':>8} {'median':>8} {'max':>8}")
    for label, settings in scenarios.items():
        for rnd, row in enumerate(measure(settings, partners, args.rounds), start=1):
            largest = max(largest, *row)
            print(
                f"{label:<26} {rnd:>5} {len(row):>2} {min(row):>8.3f} "
                f"{statistics.median(row):>8.3f} {max(row):>8.3f}"
            )
    ten_x = 10 * largest
    step = 10 ** math.floor(math.log10(ten_x))
    print(f"largest honest norm {largest:.3f}; 10x, rounded up: {math.ceil(ten_x / step) * step:g}")


if __name__ == "__main__":
    main()
