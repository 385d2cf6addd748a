"""Proof bundles: one self-contained JSON file proving what the log says about one round.

A bundle holds the signed checkpoint with its cosignatures, and for the run-start record
(which names the witnesses' keys) and the round's record: the leaf bytes, the index and the
inclusion path. It also carries the round's proof as C2SP ``tlog-proof`` text, so that any
tlog-proof verifier can check it. Verification needs only the bundle (and, to be more than
self-consistent, the coordinator's verifier key obtained out of band).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.merkle import (
    AuditError,
    CheckpointStore,
    FormatError,
    MerkleLog,
    NoteVerifier,
    SignedCheckpoint,
    SqliteStore,
    VerificationError,
    leaf_hash,
    parse_vkey,
    verify_inclusion,
    write_atomic,
)
from audit.run.bundle_schema import check_bundle
from audit.run.json_limits import MAX_BUNDLE_BYTES, read_json_file
from audit.run.records import parse_record
from audit.run.run_layout import audit_paths, bundle_path

__all__ = ["BUNDLE_FORMAT", "BundleReport", "make_bundle", "verify_bundle", "write_bundle"]

BUNDLE_FORMAT = "fedinsight-audit-bundle/v1"
_TLOG_PROOF = "c2sp.org/tlog-proof@v1"


@dataclass(frozen=True)
class BundleReport:
    """What a verified bundle establishes."""

    origin: str
    tree_size: int
    round_number: int
    index: int
    cosigned_by: tuple[str, ...]
    key_pinned: bool
    record: dict[str, Any]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def tlog_proof_text(index: int, proof: list[bytes], checkpoint_note: str) -> str:
    """The C2SP tlog-proof text of one entry."""
    lines = [_TLOG_PROOF, f"index {index}", *(_b64(h) for h in proof)]
    return "\n".join(lines) + "\n\n" + checkpoint_note


def _default_size(checkpoints: CheckpointStore) -> int:
    """The newest checkpoint that carries cosignatures, else the newest one."""
    sizes = checkpoints.sizes()
    if not sizes:
        raise FormatError("the log has no signed checkpoint")
    cosigned = [size for size in sizes if checkpoints.cosignatures(size)]
    return (cosigned or sizes)[-1]


def make_bundle(
    run_dir: str | os.PathLike[str], round_number: int, *, tree_size: int | None = None
) -> dict[str, Any]:
    """Build the bundle of round ``round_number`` against the checkpoint at ``tree_size``
    (default: the newest cosigned one, else the newest). Requires the round to be in the log
    at that size."""
    log_path, vkey_path = audit_paths(run_dir)
    store = SqliteStore(log_path, readonly=True)
    try:
        log = MerkleLog.from_store(store)
        checkpoints = CheckpointStore(store)
        size = _default_size(checkpoints) if tree_size is None else tree_size
        signed = checkpoints.get(size)
        if signed is None:
            raise FormatError(f"no checkpoint at tree size {size}")
        index = next(
            (
                i
                for i, data in enumerate(log.leaves(0, size))
                if i and parse_record(data).get("round") == round_number
            ),
            None,
        )
        if index is None:
            raise FormatError(f"round {round_number} is not in the log at tree size {size}")
        entries = [
            {
                "index": i,
                "leaf": _b64(log.leaf(i)),
                "inclusion_proof": [_b64(h) for h in log.inclusion_proof(i, size)],
            }
            for i in (0, index)
        ]
        note = signed.text()
        return {
            "format": BUNDLE_FORMAT,
            "origin": signed.origin,
            "round": round_number,
            "coordinator_vkey": vkey_path.read_text(encoding="ascii").strip(),
            "checkpoint": note,
            "entries": entries,
            "tlog_proof": tlog_proof_text(index, log.inclusion_proof(index, size), note),
        }
    finally:
        store.close()


def write_bundle(
    run_dir: str | os.PathLike[str], round_number: int, out: str | os.PathLike[str] | None = None
) -> Path:
    """Write round ``round_number``'s bundle (atomically); default
    ``RUN_DIR/audit/proofs/round-N.json``."""
    bundle = make_bundle(run_dir, round_number)
    path = bundle_path(run_dir, round_number) if out is None else Path(out)
    write_atomic(path, (json.dumps(bundle, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    return path


def _decode_entry(entry: dict[str, Any], where: str) -> tuple[int, bytes, list[bytes]]:
    """An entry `check_bundle` accepted, its base64 decoded."""
    try:
        leaf = base64.b64decode(entry["leaf"], validate=True)
        proof = [base64.b64decode(h, validate=True) for h in entry["inclusion_proof"]]
    except (binascii.Error, ValueError) as exc:
        raise FormatError(f"{where}: leaf and inclusion_proof are base64") from exc
    return entry["index"], leaf, proof


def verify_bundle(
    bundle: str | os.PathLike[str] | dict[str, Any], *, coordinator_key: NoteVerifier | None = None
) -> BundleReport:
    """Verify a bundle offline.

    Checks the coordinator's signature on the checkpoint (with ``coordinator_key`` if given,
    else the key the bundle carries), both inclusion proofs, the records, the round number,
    the tlog-proof text, and every cosignature from a partner declared at run start
    (signatures from other keys are ignored, as C2SP signed-note requires).

    Raises:
        VerificationError: at the first failure.
    """
    try:
        return _verify(bundle, coordinator_key)
    except VerificationError:
        raise
    except (AuditError, OSError, ValueError) as exc:
        raise VerificationError(str(exc)) from exc


def _verify(
    bundle: str | os.PathLike[str] | dict[str, Any], coordinator_key: NoteVerifier | None
) -> BundleReport:
    raw = bundle if isinstance(bundle, dict) else read_json_file(bundle, max_bytes=MAX_BUNDLE_BYTES)
    data = check_bundle(raw, BUNDLE_FORMAT)
    signed = SignedCheckpoint.parse(data["checkpoint"])
    key = parse_vkey(data["coordinator_vkey"]) if coordinator_key is None else coordinator_key
    signed.note.verify(key)
    if signed.origin != data["origin"]:
        raise VerificationError(
            "bundle origin differs from the checkpoint's",
            expected=signed.origin,
            computed=data["origin"],
        )
    entries = [_decode_entry(e, f"entries[{n}]") for n, e in enumerate(data["entries"])]
    if entries[0][0] != 0:
        raise FormatError("a bundle holds the run-start entry (index 0) and one round entry")
    records = []
    for index, leaf, proof in entries:
        verify_inclusion(leaf_hash(leaf), index, signed.tree_size, proof, signed.root)
        records.append(parse_record(leaf))
    start, record = records
    if start["type"] != "run_start" or record["type"] != "round":
        raise VerificationError("bundle entries are not a run start and a round")
    if record["round"] != data["round"]:
        raise VerificationError(
            "the round entry is another round", expected=data["round"], computed=record["round"]
        )
    index, _, proof = entries[1]
    if data["tlog_proof"] != tlog_proof_text(index, proof, data["checkpoint"]):
        raise VerificationError("tlog_proof text does not match the round's entry")
    witnesses = {parse_vkey(vkey): partner for partner, vkey in start["partners"].items()}
    seen = signed.note.verify_known(witnesses)
    return BundleReport(
        origin=signed.origin,
        tree_size=signed.tree_size,
        round_number=record["round"],
        index=index,
        cosigned_by=tuple(sorted(witnesses[key] for key in seen)),
        key_pinned=coordinator_key is not None,
        record=record,
    )
