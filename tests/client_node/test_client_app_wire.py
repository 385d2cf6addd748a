"""The ClientApp's side of the model's wire form (``federation.wire``): the update it sends,
with and without an injected fault, and a model from the coordinator it cannot read."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, RecordDict

import client_node.client_app as client_app
from client_node.faults import update_arrays
from coordinator.defenses import check_update
from federation import Partner, Record, Status, pack_state, unpack_state
from federation.wire import FLAT
from insight import CustomerSequenceModel
from tests.flower_replies import received_instruction

StateDict = dict[str, torch.Tensor]


@pytest.fixture
def state() -> StateDict:
    torch.manual_seed(0)
    return {k: v.clone() for k, v in CustomerSequenceModel().state_dict().items()}


def test_an_update_goes_as_the_flat_array(state: StateDict) -> None:
    sent, record = update_arrays(state, "")

    assert sent is state
    assert list(record.keys()) == [FLAT]
    assert all(torch.equal(unpack_state(record)[k], state[k]) for k in state)


def test_a_wrong_shape_fault_still_reaches_the_coordinators_check(state: StateDict) -> None:
    sent, record = update_arrays(state, "wrong-shape")

    assert FLAT not in record
    assert "has shape" in check_update(record, state)
    assert any(sent[k].shape != state[k].shape for k in state)


def _train_message(arrays: ArrayRecord, kind: str) -> Message:
    content = RecordDict({"arrays": arrays, "config": ConfigRecord({"server-round": 1})})
    return received_instruction(content, kind)


@pytest.mark.parametrize("kind", ["train", "evaluate"])
def test_a_model_the_node_cannot_read_is_refused_as_the_coordinators(
    state: StateDict, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import client_node.data

    source = SimpleNamespace(name="p0", state=None)
    monkeypatch.setattr(client_app, "_admit", lambda _context: (None, source, ""))
    monkeypatch.setattr(client_node.data, "load_partner", lambda *_args: SimpleNamespace(name="p0"))
    values = pack_state(state)[FLAT].numpy()
    forged = ArrayRecord({FLAT: Array(values[:-1].copy())})
    context = Context(run_id=7, node_id=3, node_config={}, state=RecordDict(), run_config={})
    handler = client_app.train_here if kind == "train" else client_app.evaluate_here

    reply = handler(_train_message(forged, kind), context)

    partner = reply.content.config_records[Record.PARTNER]
    assert partner[Partner.STATUS] == Status.REFUSED
    assert str(partner[Partner.REASON]) == (
        f"{client_app.NOT_THE_MODEL}: the flat model array has {values.size - 1} values, "
        f"not {values.size}"
    )
