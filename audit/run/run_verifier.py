"""Offline verification of a run directory: everything is recomputed, nothing is trusted.

Needs only the standard library and ``cryptography``. The checks, in order: every checkpoint
is signed by the coordinator key; the tree rebuilt from the leaves matches every stored hash
and every checkpoint's root; the last checkpoint covers the whole log; consecutive
checkpoints are consistent; records are well-formed and in sequence, with cumulative epsilon
within each partner's budget; every cosignature comes from a partner declared at run start
and verifies; and, when a model file is given, its SHA-256 is the run-end model hash.

Notes:
    By default the coordinator key is read from the run directory, which proves integrity
    relative to that key only; pin the key obtained out of band (``coordinator_key``). A
    log cut short together with its checkpoints is only detected against a checkpoint kept
    elsewhere (a witness's state, a proof bundle).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from audit.merkle import (
    AuditError,
    CheckpointStore,
    MerkleLog,
    NoteVerifier,
    Recomputed,
    RootMismatchError,
    SignatureError,
    SignedCheckpoint,
    SqliteStore,
    VerificationError,
    parse_vkey,
    read_vkey,
    recompute_store,
    verify_consistency,
)
from audit.run.errors import BudgetError
from audit.run.record_sequence import RecordSequence
from audit.run.records import parse_record
from audit.run.run_layout import audit_paths

__all__ = ["RunReport", "file_sha256", "verify_run_dir"]


@dataclass(frozen=True)
class RunReport:
    """What a successful verification established."""

    origin: str
    tree_size: int
    root: bytes
    checkpoints: int
    cosignatures: int
    rounds: int
    ended: bool
    epsilon_cumulative: dict[str, float] = field(default_factory=dict)
    model_checked: bool = False


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _records(store: SqliteStore, sizes: list[int]) -> tuple[RecordSequence, Recomputed]:
    sequence = RecordSequence()

    def accept(index: int, data: bytes) -> None:
        try:
            record = parse_record(data)
            sequence.accept(record)
        except BudgetError as exc:
            raise BudgetError(
                f"leaf {index}: {exc.message}", expected=exc.expected, computed=exc.computed
            ) from exc
        except AuditError as exc:
            raise VerificationError(f"leaf {index}: {exc}") from exc

    return sequence, recompute_store(store, sizes, on_leaf=accept)


def _check_cosignatures(
    checkpoints: list[SignedCheckpoint], store: CheckpointStore, witnesses: dict[str, NoteVerifier]
) -> int:
    orphans = set(store.cosigned_sizes()) - {signed.tree_size for signed in checkpoints}
    if orphans:
        raise VerificationError(
            f"cosignatures refer to tree sizes without a checkpoint: {sorted(orphans)}"
        )
    count = 0
    for signed in checkpoints:
        for row in store.raw_cosignatures(signed.tree_size):
            size, cosigner, key_id, line = row
            if (cosigner, key_id) != (line.name, line.key_id) or size != signed.tree_size:
                raise VerificationError(
                    f"checkpoint {signed.tree_size}: a cosignature row "
                    "disagrees with its own signature line"
                )
            keys = [key for key in witnesses.values() if line.matches(key)]
            if not keys:
                raise SignatureError(
                    f"checkpoint {signed.tree_size}: cosignature from "
                    f"{line.name} (key ID {line.key_id:08x}), not a partner"
                )
            if not keys[0].verify(signed.note.text.encode(), line.payload):
                raise SignatureError(
                    f"checkpoint {signed.tree_size}: cosignature of {line.name} does not verify"
                )
            count += 1
    return count


def verify_run_dir(
    run_dir: str | os.PathLike[str],
    *,
    model_path: str | os.PathLike[str] | None = None,
    coordinator_key: NoteVerifier | None = None,
) -> RunReport:
    """Verify a run's audit log from scratch; see the module docstring for the checks.

    Raises:
        VerificationError: at the first failure, with a message that names it.
    """
    try:
        return _verify(Path(run_dir), model_path, coordinator_key)
    except VerificationError:
        raise
    except (AuditError, OSError, sqlite3.Error) as exc:
        raise VerificationError(str(exc)) from exc


def _signed_checkpoints(
    checkpoint_store: CheckpointStore, origin: str | None, key: NoteVerifier
) -> list[SignedCheckpoint]:
    """Every stored checkpoint, each under its own row's size and origin, signed by ``key``."""
    checkpoints = []
    for size in checkpoint_store.sizes():
        signed = checkpoint_store.get_signed_only(size)
        if signed.tree_size != size or signed.origin != origin:
            raise VerificationError(
                f"checkpoint row {size} holds a checkpoint of "
                f"{signed.origin} at size {signed.tree_size}",
                expected=f"{origin} at {size}",
            )
        try:
            signed.note.verify(key)
        except SignatureError as exc:
            raise SignatureError(f"checkpoint {size}: {exc}") from exc
        checkpoints.append(signed)
    return checkpoints


def _check_roots(checkpoints: list[SignedCheckpoint], rebuilt: Recomputed) -> None:
    """Each signed root is the root of the leaves, and the last checkpoint covers them all."""
    for signed in checkpoints:
        recomputed = rebuilt.roots.get(signed.tree_size)
        message = f"checkpoint {signed.tree_size}: signed root is not the root of the leaves"
        if recomputed is None:
            raise VerificationError(message, expected=signed.root, computed=None)
        if recomputed != signed.root:
            raise RootMismatchError(message, expected=signed.root, computed=recomputed)
    if rebuilt.tree_size != checkpoints[-1].tree_size:
        raise VerificationError(
            "the last signed checkpoint does not cover the whole log",
            expected=rebuilt.tree_size,
            computed=checkpoints[-1].tree_size,
        )


def _check_model(model_path: str | os.PathLike[str], sequence: RecordSequence) -> None:
    if sequence.final_model_hash is None:
        raise VerificationError("a model file was given but the run has no run_end")
    actual = file_sha256(model_path)
    if actual != sequence.final_model_hash:
        raise VerificationError(
            f"{model_path}: SHA-256 is not the run's final model hash",
            expected=sequence.final_model_hash,
            computed=actual,
        )


def _verify(
    run_dir: Path, model_path: str | os.PathLike[str] | None, coordinator_key: NoteVerifier | None
) -> RunReport:
    log_path, vkey_path = audit_paths(run_dir)
    key = read_vkey(vkey_path) if coordinator_key is None else coordinator_key
    store = SqliteStore(log_path, readonly=True)
    try:
        origin = store.meta("origin")
        checkpoint_store = CheckpointStore(store)
        checkpoints = _signed_checkpoints(checkpoint_store, origin, key)
        if not checkpoints:
            raise VerificationError(f"{log_path}: no signed checkpoint")
        sequence, rebuilt = _records(store, [signed.tree_size for signed in checkpoints])
        _check_roots(checkpoints, rebuilt)
        log = MerkleLog.from_store(store)
        for old, new in pairwise(checkpoints):
            verify_consistency(
                old.tree_size,
                new.tree_size,
                log.consistency_proof(old.tree_size, new.tree_size),
                old.root,
                new.root,
            )
        witnesses = {partner: parse_vkey(vkey) for partner, vkey in sequence.partners.items()}
        cosignatures = _check_cosignatures(checkpoints, checkpoint_store, witnesses)
        if model_path is not None:
            _check_model(model_path, sequence)
        return RunReport(
            origin=str(origin),
            tree_size=rebuilt.tree_size,
            root=rebuilt.root,
            checkpoints=len(checkpoints),
            cosignatures=cosignatures,
            rounds=sequence.last_round,
            ended=sequence.ended,
            epsilon_cumulative=dict(sequence.cumulative),
            model_checked=model_path is not None,
        )
    finally:
        store.close()
