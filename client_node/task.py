"""The partner's work in a round, as plain functions testable without Flower."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from insight import CustomerSequenceModel, PartnerData, TrainConfig, evaluate_model, train

logger = logging.getLogger(__name__)

StateDict = dict[str, torch.Tensor]


@dataclass(frozen=True)
class TrainOutcome:
    state: StateDict
    metrics: dict[str, int | float | list[int] | list[float]]


def train_round(global_state: StateDict, data: PartnerData, config: TrainConfig) -> TrainOutcome:
    """Start from the global weights, train locally, return new weights and metrics."""
    torch.set_num_threads(1)
    model = CustomerSequenceModel()
    model.load_state_dict(global_state)
    stats = train(model, data.train, config)
    metrics: dict[str, int | float | list[int] | list[float]] = {
        "num-examples": stats.num_examples,
        "train-loss": stats.mean_loss,
        "train-steps": stats.steps,
        "train-seconds": stats.seconds,
    }
    return TrainOutcome(state=model.state_dict(), metrics=metrics)


def evaluate_round(
    global_state: StateDict, data: PartnerData
) -> dict[str, int | float | list[int] | list[float]]:
    """Evaluate the global model on this partner's own customers (holdout targets)."""
    torch.set_num_threads(1)
    model = CustomerSequenceModel()
    model.load_state_dict(global_state)
    out: dict[str, int | float | list[int] | list[float]] = {
        "num-examples": data.predict.num_customers
    }
    for key, value in evaluate_model(model, data).items():
        out[key.replace("_", "-")] = value
    return out
