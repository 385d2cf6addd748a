"""Per-round evaluation of the global model on pooled data, for simulations only.

A researcher's simulation holds every partner's data, so it can score each round's global model
on all customers. A real deployment has no such data at the coordinator: ``eval-data`` stays
empty there and only the partners' own evaluations are reported.
"""

from __future__ import annotations

from pathlib import Path

import torch

from coordinator.rounds import CentralEval
from insight import (
    CustomerSequenceModel,
    RunSettings,
    evaluate_model,
    prepare_partner,
    read_event_file,
)


def make_central_eval(settings: RunSettings) -> CentralEval:
    data = prepare_partner("pooled", read_event_file(Path(settings.eval_data)), settings)

    def central_eval(state: dict[str, torch.Tensor]) -> dict[str, float]:
        model = CustomerSequenceModel()
        model.load_state_dict(state)
        return evaluate_model(model, data)

    return central_eval
