"""The model on Flower's wire: one flat array, the same hashes, the same aggregates."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from flwr.app import Array, ArrayRecord, Message, MetricRecord, RecordDict
from flwr.serverapp.strategy import FedAvg, FedMedian, FedTrimmedAvg, Strategy

from federation import WireError, flat_record, pack_state, state_sha256, unpack_state
from federation.wire import FLAT, layout
from insight import CustomerSequenceModel
from tests.flower_replies import received_reply

StateDict = dict[str, torch.Tensor]


def _state(seed: int) -> StateDict:
    torch.manual_seed(seed)
    return {k: v.clone() for k, v in CustomerSequenceModel().state_dict().items()}


def _reply(arrays: ArrayRecord, node_id: int, num_examples: int) -> Message:
    content = RecordDict(
        {"arrays": arrays, "metrics": MetricRecord({"num-examples": num_examples})}
    )
    return received_reply(content, node_id)


def test_a_packed_model_is_one_float32_array() -> None:
    record = pack_state(_state(0))

    assert list(record.keys()) == [FLAT]
    assert record[FLAT].dtype == "float32"
    assert record[FLAT].shape == (sum(int(np.prod(s)) for _, s in layout()),)


def test_unpacking_gives_back_the_same_parameters_and_hash() -> None:
    state = _state(1)

    back = unpack_state(pack_state(state))

    assert list(back) == list(state)
    assert all(torch.equal(back[k], state[k]) for k in state)
    assert state_sha256(back) == state_sha256(state)


def test_named_arrays_are_read_as_flower_reads_them() -> None:
    state = _state(2)

    back = unpack_state(ArrayRecord(state))

    assert state_sha256(back) == state_sha256(state)


@pytest.mark.parametrize("kind", [FedAvg, FedMedian, FedTrimmedAvg])
def test_strategies_aggregate_the_flat_array_as_they_did_the_named_ones(
    kind: type[Strategy],
) -> None:
    states = [_state(10 + i) for i in range(5)]
    weights = [3, 1, 4, 1, 5]
    named = [_reply(ArrayRecord(s), i + 1, weights[i]) for i, s in enumerate(states)]
    flat = [_reply(pack_state(s), i + 1, weights[i]) for i, s in enumerate(states)]

    by_name, _ = kind().aggregate_train(1, named)
    by_flat, _ = kind().aggregate_train(1, flat)

    assert by_name is not None and by_flat is not None
    assert state_sha256(unpack_state(by_flat)) == state_sha256(by_name.to_torch_state_dict())


def test_a_flat_array_of_another_length_is_refused() -> None:
    values = pack_state(_state(3))[FLAT].numpy()

    with pytest.raises(WireError, match=f"has {values.size - 1} values, not {values.size}"):
        unpack_state(ArrayRecord({FLAT: Array(values[:-1].copy())}))


def test_a_flat_array_of_another_dtype_is_refused() -> None:
    values = pack_state(_state(3))[FLAT].numpy().astype(np.float64)

    with pytest.raises(WireError, match="not a one-dimensional float32 array"):
        unpack_state(ArrayRecord({FLAT: Array(values)}))


@pytest.mark.parametrize("dtype", [">f4", [("a", "<f4")], "M8[s]"])
def test_bytes_of_another_dtype_than_declared_are_refused(dtype: object) -> None:
    values = np.zeros(pack_state(_state(3))[FLAT].shape, dtype=dtype)  # type: ignore[call-overload]
    forged = Array(values)
    record = ArrayRecord(
        {FLAT: Array(dtype="float32", shape=forged.shape, stype=forged.stype, data=forged.data)}
    )

    with pytest.raises(WireError, match="not a one-dimensional float32 array"):
        unpack_state(record)


def test_a_flat_array_beside_other_arrays_is_refused() -> None:
    record = pack_state(_state(3))
    record["extra"] = Array(np.zeros(3, dtype=np.float32))

    with pytest.raises(WireError, match="1 other arrays"):
        unpack_state(record)


def test_flat_bytes_that_are_not_an_array_are_refused() -> None:
    record = pack_state(_state(3))
    record[FLAT] = Array(dtype="float32", shape=(11,), stype="numpy.ndarray", data=b"junk")

    with pytest.raises(WireError):
        unpack_state(record)


def test_a_state_without_the_models_parameters_cannot_be_packed() -> None:
    state = _state(4)
    del state[next(iter(state))]

    with pytest.raises(WireError, match="cannot pack"):
        pack_state(state)


def test_flat_record_keeps_a_flat_record_and_packs_a_named_one() -> None:
    state = _state(5)
    flat = pack_state(state)

    assert flat_record(flat) is flat
    repacked = flat_record(ArrayRecord(state))
    assert list(repacked.keys()) == [FLAT]
    assert state_sha256(unpack_state(repacked)) == state_sha256(state)
