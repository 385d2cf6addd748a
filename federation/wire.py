"""The model on Flower's wire: every parameter in one flat float32 array.

Flower stores a message's ``ArrayRecord`` as one object per array (and its chunks), and on the
deployment engine each object is one HTTP request on every hop (SuperLink, SuperNode,
ClientApp). The model's 20 parameters made a train message 43 objects; one flat array makes it
about 5 (``docs/deployment-speed.md``). Both ends know the layout: the model's architecture is
fixed by the manifest (``architecture_sha256``), so the flat array is cut back into the model's
named parameters in ``layout()``'s order.

Only the wire changes. Hashes (update commitments, model hashes in the log and in ``run_end``)
are taken over state dicts, before ``pack_state`` and after ``unpack_state``, so they are what
they were; and Flower's strategies average, take medians of, clip and noise the flat array
element by element exactly as they did the named arrays.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
import torch
from flwr.app import Array, ArrayRecord

from federation.errors import WireError
from insight import CustomerSequenceModel

FLAT = "flat"
# What reading forged Array bytes raises (NumPy's loader, torch's conversion).
_UNREADABLE = (TypeError, ValueError, OSError, EOFError)


@functools.cache
def layout() -> tuple[tuple[str, tuple[int, ...]], ...]:
    """The model's parameters, in the order the flat array holds them, with their shapes."""
    state = CustomerSequenceModel().state_dict()
    if any(t.dtype != torch.float32 for t in state.values()):
        raise WireError("the flat wire format holds float32 parameters only")
    return tuple((k, tuple(t.shape)) for k, t in state.items())


def _size() -> int:
    return sum(int(np.prod(shape)) for _, shape in layout())


def pack_state(state: Mapping[str, torch.Tensor]) -> ArrayRecord:
    """``state`` (the model's parameters, float32) as an ArrayRecord of one flat array.

    Raises WireError when ``state`` does not hold exactly the model's parameters and shapes.
    """
    names = [k for k, _ in layout()]
    if set(state) != set(names):
        raise WireError(
            f"cannot pack a state of {len(state)} parameters as the model's {len(names)}"
        )
    parts = []
    for key, shape in layout():
        tensor = state[key].detach().cpu()
        if tuple(tensor.shape) != shape:
            raise WireError(f"parameter {key} has shape {tuple(tensor.shape)}, not {shape}")
        parts.append(tensor.to(torch.float32).reshape(-1).numpy())
    return ArrayRecord({FLAT: Array(np.concatenate(parts))})


def flat_record(record: ArrayRecord) -> ArrayRecord:
    """``record`` in the flat form: itself when it is, else its named arrays packed.

    Requires ``record`` to have passed the checks of named arrays (the model's names and
    shapes); raises WireError otherwise.
    """
    return record if FLAT in record else pack_state(unpack_state(record))


def unpack_state(record: ArrayRecord) -> dict[str, torch.Tensor]:
    """The model's named parameters from ``record``.

    A record of named arrays (no ``FLAT`` key) is read as Flower reads it; the checks on names,
    shapes and dtypes are then the caller's (``coordinator.defenses.check_update``).

    Raises WireError when ``record`` cannot be read as tensors, or holds a flat array beside other
    arrays, of another dtype or another length than the model's.
    """
    if FLAT not in record:
        try:
            return record.to_torch_state_dict()
        except _UNREADABLE as exc:
            raise WireError("its arrays cannot be read as tensors") from exc
    if len(record) != 1:
        raise WireError(f"a flat model array came with {len(record) - 1} other arrays")
    array = record[FLAT]
    if array.dtype != "float32" or len(array.shape) != 1:
        # The dtype is the sender's text: never echoed into the coordinator's logs.
        raise WireError("the flat model array is not a one-dimensional float32 array")
    try:
        flat = array.numpy()
    except _UNREADABLE as exc:
        raise WireError("its arrays cannot be read as tensors") from exc
    # The bytes carry their own dtype (NumPy's header), whatever the Array's metadata declares.
    if flat.dtype != np.dtype(np.float32) or flat.ndim != 1:
        raise WireError("the flat model array is not a one-dimensional float32 array")
    if flat.shape != (_size(),):
        raise WireError(f"the flat model array has {flat.size} values, not {_size()}")
    out: dict[str, torch.Tensor] = {}
    start = 0
    for key, shape in layout():
        count = int(np.prod(shape))
        out[key] = torch.from_numpy(flat[start : start + count].copy()).reshape(shape)
        start += count
    return out
