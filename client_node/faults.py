"""Fault injection for resilience tests: a node that sends a broken or hostile update.

Set ``inject-fault`` in a node's config (``flower-supernode --node-config``) to one of
``nan``, ``inf``, ``huge-norm`` or ``wrong-shape``: after training, the node corrupts its update
that way before replying. It exists so the end-to-end tests can show the coordinator rejects
such updates before aggregation; a real partner never sets it. A malicious partner could send
the same updates with its own code; the coordinator's checks, not this switch, are the defence.
"""

from __future__ import annotations

import logging

import torch
from flwr.app import ArrayRecord

logger = logging.getLogger(__name__)

FAULTS = ("nan", "inf", "huge-norm", "wrong-shape")


def inject_fault(state: dict[str, torch.Tensor], kind: str) -> dict[str, torch.Tensor]:
    if kind not in FAULTS:
        raise ValueError(f"inject-fault {kind!r}: one of {', '.join(FAULTS)}")
    logger.warning("inject-fault=%s: this node sends a corrupted update (testing only)", kind)
    out = {k: v.clone() for k, v in state.items()}
    key = next(k for k, v in out.items() if v.is_floating_point() and v.numel() > 1)
    if kind == "nan":
        out[key].view(-1)[0] = float("nan")
    elif kind == "inf":
        out[key].view(-1)[0] = float("inf")
    elif kind == "huge-norm":
        out = {k: v * 1e6 if v.is_floating_point() else v for k, v in out.items()}
    else:
        out[key] = torch.zeros(*out[key].shape, 2)
    return out


def update_arrays(
    state: dict[str, torch.Tensor], fault: str
) -> tuple[dict[str, torch.Tensor], ArrayRecord]:
    """The update as the reply carries it: the flat array of ``federation.wire``; or, with
    ``fault`` (``inject-fault``), the corrupted update as named arrays, which the coordinator
    reads and checks as it does the flat form (a wrong shape cannot be packed flat)."""
    from federation import pack_state

    if not fault:
        return state, pack_state(state)
    corrupted = inject_fault(state, fault)
    return corrupted, ArrayRecord(corrupted)
