"""The final model comes home: checked against the audit log this node cosigned, then kept.

At the end of a run the coordinator sends every partner the final model file, the run's
manifest, the log's last leaf (the ``run_end`` record) and an inclusion proof of that leaf. The
node accepts the model only if

1. the tree size is the one this node last cosigned for the log's origin (``witness.json``), so
   the record is the end of the history this node itself vouched for;
2. the record is included, as the last leaf, in the tree whose root it cosigned;
3. the record is a ``run_end`` record, and its ``final_model_hash`` is the sha256 of the model
   bytes received;
4. the manifest's own ``manifest_sha256`` matches its content.

It then keeps ``models/<run>.pt`` (with ``.sha256``) and ``models/<run>.manifest.json`` in its
node folder, each written atomically. Anything else is refused with a `ModelRefusedError` that
says which check failed; nothing is written then.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit import AuditError, Witness, leaf_hash, parse_record, verify_inclusion
from client_node.errors import ModelRefusedError
from client_node.node_state import NodeState
from client_node.witnessing import cosigner
from federation import Homecoming, Partner, manifest_hash

logger = logging.getLogger(__name__)

MODELS_DIR = "models"
_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class Delivery:
    """What the coordinator sends home (see module doc)."""

    run: str
    origin: str
    model: bytes
    manifest_text: str
    record: bytes
    tree_size: int
    inclusion_proof: list[bytes]


def model_path(state: NodeState, run: str) -> Path:
    return state.root / MODELS_DIR / f"{run}.pt"


def manifest_path(state: NodeState, run: str) -> Path:
    return state.root / MODELS_DIR / f"{run}.manifest.json"


def kept_runs(state: NodeState) -> list[str]:
    """The runs whose models this node keeps, oldest first (by the file's time)."""
    folder = state.root / MODELS_DIR
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.pt"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    return [p.stem for p in files]


def receive_model(state: NodeState, name: str, delivery: Delivery) -> str:
    """Check ``delivery`` (module doc) and keep it; return the model's sha256.

    Raises:
        ModelRefusedError: a check failed; nothing was written.
    """
    if not _RUN_NAME.match(delivery.run):
        raise ModelRefusedError(f"refused the final model: {delivery.run!r} is not a run name")
    record = _cosigned_record(state, name, delivery)
    digest = hashlib.sha256(delivery.model).hexdigest()
    expected = str(record.get("final_model_hash", ""))
    if digest != expected:
        raise ModelRefusedError(
            f"refused the final model of run {delivery.run}: its sha256 {digest} is not the "
            f"run_end record's final_model_hash {expected}"
        )
    manifest = _manifest(delivery)
    from insight.files import replace_atomically  # here: importing insight loads torch

    path = model_path(state, delivery.run)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with replace_atomically(path) as out:
        out.write(delivery.model)
    with replace_atomically(path.with_name(path.name + ".sha256")) as out:
        out.write(f"{digest}  {path.name}\n".encode())
    with replace_atomically(manifest_path(state, delivery.run)) as out:
        out.write(json.dumps(manifest, indent=2, sort_keys=True).encode())
    logger.info("kept the final model of run %s (sha256 %s)", delivery.run, digest[:16])
    return digest


def _cosigned_record(state: NodeState, name: str, delivery: Delivery) -> dict[str, Any]:
    witness = Witness(cosigner(state, name), state.witness_state_path, {})
    size, root = witness.latest(delivery.origin)
    what = f"refused the final model of run {delivery.run}"
    if size == 0:
        raise ModelRefusedError(f"{what}: this node cosigned no checkpoint of its audit log")
    if size != delivery.tree_size:
        raise ModelRefusedError(
            f"{what}: the run_end record is claimed at tree size {delivery.tree_size}, but this "
            f"node last cosigned tree size {size}"
        )
    try:
        verify_inclusion(leaf_hash(delivery.record), size - 1, size, delivery.inclusion_proof, root)
        record = parse_record(delivery.record)
    except AuditError as exc:
        raise ModelRefusedError(f"{what}: the run_end record is not in the log: {exc}") from None
    if record.get("type") != "run_end":
        raise ModelRefusedError(f"{what}: the log's last record is a {record.get('type')!r} record")
    return record


def _manifest(delivery: Delivery) -> dict[str, Any]:
    try:
        manifest = json.loads(delivery.manifest_text)
        ok = isinstance(manifest, dict) and manifest_hash(manifest) == manifest["manifest_sha256"]
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise ModelRefusedError(
            f"refused the final model of run {delivery.run}: its manifest does not match its "
            "own manifest_sha256"
        )
    out: dict[str, Any] = manifest
    return out


def answer(state: NodeState, name: str, config: Mapping[str, object]) -> dict[str, str]:
    """The reply's fields to a ``model-home`` query: the kept model's sha256, or the refusal."""
    try:
        delivery = Delivery(
            run=str(config[Homecoming.RUN]),
            origin=str(config[Homecoming.ORIGIN]),
            model=_bytes(config[Homecoming.MODEL]),
            manifest_text=str(config[Homecoming.MANIFEST]),
            record=_bytes(config[Homecoming.RECORD]),
            tree_size=int(str(config[Homecoming.TREE_SIZE])),
            inclusion_proof=[
                bytes.fromhex(h) for h in str(config[Homecoming.INCLUSION]).split(",") if h
            ],
        )
        return {Homecoming.KEPT: receive_model(state, name, delivery)}
    except (KeyError, ValueError, TypeError) as exc:
        message = f"refused the final model: malformed delivery ({type(exc).__name__}: {exc})"
    except ModelRefusedError as exc:
        message = str(exc)
    logger.error("%s", message)
    return {Partner.REFUSAL: message}


def _bytes(value: object) -> bytes:
    if not isinstance(value, bytes):
        raise TypeError(f"expected bytes, got {type(value).__name__}")
    return value
