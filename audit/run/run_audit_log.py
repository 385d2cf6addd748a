"""`RunAuditLog`: the coordinator's audit log of one federated run.

The log lives in ``RUN_DIR/audit/`` (see `audit.run.run_layout`).

Each record is validated, appended and covered by a freshly signed checkpoint in one SQLite
transaction, so every committed leaf is under a signed checkpoint. Before signing, the log
checks a consistency proof from its previous checkpoint to the new one.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from audit.merkle import (
    NOTE_ED25519,
    Checkpoint,
    CheckpointError,
    CheckpointStore,
    MerkleLog,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    SignatureError,
    SignedCheckpoint,
    SignedNote,
    SqliteStore,
    StoreError,
    VerificationError,
    parse_vkey,
    read_vkey,
    verify_consistency,
    write_vkey,
)
from audit.run.record_sequence import RecordSequence
from audit.run.records import encode_record, parse_record
from audit.run.run_layout import audit_paths

__all__ = ["RunAuditLog"]

logger = logging.getLogger(__name__)


class RunAuditLog:
    """Append-only, signed, witnessable log of one run's records.

    Use `create` once at run start and `open` to resume; then `append_record` after each
    round, `consistency_proof_for` to feed each witness, `add_cosignature` with its reply.
    Not safe for concurrent writers.
    """

    def __init__(self, store: SqliteStore, signer: NoteSigner, origin: str) -> None:
        self._store = store
        self._log = MerkleLog.from_store(store)
        self._checkpoints = CheckpointStore(store)
        self._signer = signer
        self.origin = origin
        self._sequence = RecordSequence()
        for data in self._log.leaves(0, self._log.size):
            self._sequence.accept(parse_record(data))

    @classmethod
    def create(
        cls, run_dir: str | os.PathLike[str], signing_key: NoteSigner, origin: str | None = None
    ) -> RunAuditLog:
        """Start the audit log of a run; refuses if one exists.

        ``origin`` (the checkpoints' first line) defaults to the signing key's name.
        """
        if signing_key.signature_type != NOTE_ED25519:
            raise StoreError("the coordinator signs checkpoints with a note key (type 0x01)")
        origin = signing_key.name if origin is None else origin
        Checkpoint(origin, 0, bytes(32))  # validates the origin line
        log_path, vkey_path = audit_paths(run_dir)
        if log_path.exists() or vkey_path.exists():
            raise StoreError(f"{log_path.parent}: an audit log already exists")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        store = SqliteStore(log_path)
        store.set_meta("origin", origin)
        write_vkey(vkey_path, signing_key.verifier)
        return cls(store, signing_key, origin)

    @staticmethod
    def exists(run_dir: str | os.PathLike[str]) -> bool:
        """Whether the run directory already holds an audit log."""
        return audit_paths(run_dir)[0].exists()

    @classmethod
    def open(cls, run_dir: str | os.PathLike[str], signing_key: NoteSigner) -> RunAuditLog:
        """Resume a run's audit log; the key must match ``coordinator.vkey``."""
        log_path, vkey_path = audit_paths(run_dir)
        if not log_path.exists():
            raise StoreError(f"{log_path}: no audit log here")
        if read_vkey(vkey_path) != signing_key.verifier:
            raise SignatureError(f"signing key {signing_key.name} is not the key in {vkey_path}")
        store = SqliteStore(log_path)
        origin = store.meta("origin")
        if origin is None:
            raise StoreError(f"{log_path}: the store records no origin")
        return cls(store, signing_key, origin)

    @property
    def size(self) -> int:
        """Number of records in the log."""
        return self._log.size

    @property
    def sequence(self) -> RecordSequence:
        """The records' state so far (last round, model hash, cumulative epsilon, budgets)."""
        return self._sequence

    def records(self) -> list[dict[str, Any]]:
        """Every record in the log, in order."""
        return [parse_record(data) for data in self._log.leaves(0, self._log.size)]

    @property
    def log(self) -> MerkleLog:
        """The underlying Merkle log (for proofs)."""
        return self._log

    def append_record(self, record: Mapping[str, Any]) -> SignedCheckpoint:
        """Validate, append and sign: return the new checkpoint (signed by the coordinator).

        Raises:
            RecordError, BudgetError: the record is invalid or out of sequence.
            CheckpointError: the new head is not consistent with the previous checkpoint.
        """
        data = encode_record(record)
        sequence = copy.deepcopy(self._sequence)
        sequence.accept(record)
        with self._log.transaction():
            self._log.append(data)
            signed = self._sign(self._log.size, self._log.root())
            self._checkpoints.add(signed)
        self._sequence = sequence
        logger.info(
            "audit log: appended a %s record, signed checkpoint at tree size %d",
            record["type"],
            signed.tree_size,
        )
        return signed

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        """Newest checkpoint with the cosignatures gathered so far."""
        return self._checkpoints.latest()

    def checkpoint(self, tree_size: int) -> SignedCheckpoint:
        """The checkpoint signed at ``tree_size``."""
        signed = self._checkpoints.get(tree_size)
        if signed is None:
            raise CheckpointError(f"no checkpoint was signed at tree size {tree_size}")
        return signed

    def consistency_proof_for(self, witness_size: int, tree_size: int | None = None) -> list[bytes]:
        """Consistency proof from a witness's last cosigned size to ``tree_size`` (default:
        the newest checkpoint). Requires ``0 <= witness_size <= tree_size``."""
        if tree_size is None:
            latest = self._checkpoints.latest()
            tree_size = 0 if latest is None else latest.tree_size
        return self._log.consistency_proof(witness_size, tree_size)

    def witness_keys(self) -> dict[str, NoteVerifier]:
        """Partner id -> cosigner verifier key, from the run-start record."""
        return {partner: parse_vkey(vkey) for partner, vkey in self._sequence.partners.items()}

    def add_cosignature(self, tree_size: int, cosignature: NoteSignature | str) -> bool:
        """Verify a witness's cosignature of the checkpoint at ``tree_size`` and store it.

        Returns False if the same cosignature was already stored.

        Raises:
            SignatureError: not from a partner declared at run start, or does not verify.
        """
        line = NoteSignature.from_line(cosignature) if isinstance(cosignature, str) else cosignature
        signed = self.checkpoint(tree_size)
        keys = [key for key in self.witness_keys().values() if line.matches(key)]
        if not keys:
            raise SignatureError(
                f"cosigner {line.name} (key ID {line.key_id:08x}) is not a partner of this run"
            )
        SignedNote(signed.note.text, (line,)).verify(keys[0])
        with self._log.transaction():
            return self._checkpoints.add_cosignature(tree_size, line)

    def close(self) -> None:
        """Close the store."""
        self._store.close()

    def __enter__(self) -> RunAuditLog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _sign(self, tree_size: int, root: bytes) -> SignedCheckpoint:
        previous = self._checkpoints.latest()
        if previous is not None:
            if previous.origin != self.origin:
                raise CheckpointError(f"previous checkpoint has origin {previous.origin}")
            proof = self._log.consistency_proof(previous.tree_size, tree_size)
            try:
                verify_consistency(previous.tree_size, tree_size, proof, previous.root, root)
            except VerificationError as exc:
                logger.error("audit log: refusing an inconsistent head at tree size %d", tree_size)
                raise CheckpointError(
                    f"refusing to sign tree size {tree_size}: not consistent "
                    f"with checkpoint {previous.tree_size}: {exc}"
                ) from exc
        checkpoint = Checkpoint(self.origin, tree_size, root)
        note = SignedNote(checkpoint.text, (NoteSignature.create(checkpoint.text, self._signer),))
        return SignedCheckpoint(checkpoint, note)
