"""Offline verification of a run directory: everything is recomputed, nothing is trusted.

Needs only the standard library and ``cryptography``. The checks, in order: every checkpoint
is signed by the coordinator key; the tree rebuilt from the leaves matches every stored hash
and every checkpoint's root; the last checkpoint covers the whole log; consecutive
checkpoints are consistent; records are well-formed and in sequence, with cumulative epsilon
within each partner's budget; every cosignature comes from a partner declared at run start
and verifies; and, when a model file is given, its SHA-256 is the run-end model hash.

With a ``TrustPolicy`` (``audit.run.trust``) the keys come from the officer, never from the
log: the coordinator key, the trusted witness keys (every run-start witness must be one), a
quorum of distinct trusted cosignatures on every checkpoint, every participant's signed
statement with its ε recomputed from its terms, a kept checkpoint the log must extend, and a
finished run (unless ``allow_unfinished``).

Notes:
    Without a policy the coordinator key is read from the run directory (or
    ``coordinator_key``) and the run-start record's witnesses are believed: that proves
    integrity relative to those keys only, which a coordinator holding its own key can
    forge. A log cut short together with its checkpoints is only detected against a
    checkpoint kept elsewhere (``TrustPolicy.checkpoint``).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

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
from audit.run.trust import (
    PolicyReport,
    TrustPolicy,
    check_central,
    check_epsilons,
    check_quorum,
    check_statements_signed,
    check_trusted_witnesses,
)

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
    policy: PolicyReport | None = None


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _records(
    store: SqliteStore, sizes: list[int], records: list[dict[str, Any]]
) -> tuple[RecordSequence, Recomputed]:
    sequence = RecordSequence()

    def accept(index: int, data: bytes) -> None:
        try:
            record = parse_record(data)
            sequence.accept(record)
            records.append(record)
        except BudgetError as exc:
            raise BudgetError(
                f"leaf {index}: {exc.message}", expected=exc.expected, computed=exc.computed
            ) from exc
        except AuditError as exc:
            raise VerificationError(f"leaf {index}: {exc}") from exc

    return sequence, recompute_store(store, sizes, on_leaf=accept)


def _check_cosignatures(
    checkpoints: list[SignedCheckpoint],
    store: CheckpointStore,
    witnesses: dict[str, NoteVerifier],
    quorum: int = 0,
) -> tuple[int, int]:
    """Every cosignature row is a partner's and verifies; returns the number of distinct
    (size, key) cosignatures and the fewest distinct partner keys on a checkpoint (each at
    least ``quorum``)."""
    orphans = set(store.cosigned_sizes()) - {signed.tree_size for signed in checkpoints}
    if orphans:
        raise VerificationError(
            f"cosignatures refer to tree sizes without a checkpoint: {sorted(orphans)}"
        )
    count, fewest = 0, len(witnesses)
    for signed in checkpoints:
        distinct: set[str] = set()
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
            distinct.add(keys[0].vkey)
        count += len(distinct)
        fewest = min(fewest, len(distinct))
        partners = {name: key.vkey for name, key in witnesses.items()}
        check_quorum(signed.tree_size, distinct, partners, quorum)
    return count, fewest


def verify_run_dir(
    run_dir: str | os.PathLike[str],
    *,
    model_path: str | os.PathLike[str] | None = None,
    coordinator_key: NoteVerifier | None = None,
    trust: TrustPolicy | None = None,
) -> RunReport:
    """Verify a run's audit log from scratch; see the module docstring for the checks.

    Raises:
        VerificationError: at the first failure, with a message that names it.
    """
    if trust is not None:
        coordinator_key = trust.coordinator_key
    try:
        return _verify(Path(run_dir), model_path, coordinator_key, trust)
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


def _apply_policy(
    trust: TrustPolicy,
    sequence: RecordSequence,
    records: list[dict[str, Any]],
    origin: str,
    log: MerkleLog,
) -> tuple[PolicyReport, int]:
    """The policy's checks on the records and the kept checkpoint; returns the report and the
    quorum the cosignatures must reach."""
    check_trusted_witnesses(sequence.partners, trust)
    keys = {partner: parse_vkey(vkey) for partner, vkey in sequence.partners.items()}
    statements = []
    for record in records:
        if record["type"] == "round":
            signed = check_statements_signed(record, origin, keys)
            statements += [(record["round"], p, st) for p, st in signed.items()]
    epsilons = check_epsilons(statements)
    check_central(records)
    if not sequence.ended and not trust.allow_unfinished:
        raise VerificationError("the run is unfinished (no run_end); --allow-unfinished to accept")
    kept = trust.kept_checkpoint(origin)
    if kept is not None:
        if kept.tree_size > log.size:
            raise VerificationError(
                f"rollback: the log holds {log.size} records, fewer than the kept checkpoint's "
                f"{kept.tree_size}",
                expected=kept.tree_size,
                computed=log.size,
            )
        verify_consistency(
            kept.tree_size,
            log.size,
            log.consistency_proof(kept.tree_size, log.size),
            kept.root,
            log.root(),
        )
    quorum = len(sequence.partners) if trust.quorum is None else trust.quorum
    report = PolicyReport(
        coordinator_vkey=trust.coordinator_key.vkey,
        trusted_witnesses=tuple(key.vkey for key in trust.witness_keys),
        quorum=quorum,
        partners=dict(sequence.partners),
        min_cosignatures=0,
        epsilon=epsilons,
        checkpoint_size=None if kept is None else kept.tree_size,
    )
    return report, quorum


def _verify(
    run_dir: Path,
    model_path: str | os.PathLike[str] | None,
    coordinator_key: NoteVerifier | None,
    trust: TrustPolicy | None,
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
        records: list[dict[str, Any]] = []
        sizes = [signed.tree_size for signed in checkpoints]
        sequence, rebuilt = _records(store, sizes, records)
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
        policy, quorum = None, 0
        if trust is not None:
            policy, quorum = _apply_policy(trust, sequence, records, str(origin), log)
        witnesses = {partner: parse_vkey(vkey) for partner, vkey in sequence.partners.items()}
        cosignatures, fewest = _check_cosignatures(checkpoints, checkpoint_store, witnesses, quorum)
        if policy is not None:
            policy = replace(policy, min_cosignatures=fewest)
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
            policy=policy,
        )
    finally:
        store.close()
