"""Tables ``checkpoints`` and ``cosignatures``: signed checkpoints and their cosignatures,
kept beside the leaves in the SQLite store."""

from __future__ import annotations

import sqlite3

from audit.merkle.checkpoint import SignedCheckpoint
from audit.merkle.errors import StoreError
from audit.merkle.signed_note import NoteSignature
from audit.merkle.sqlite_store import SqliteStore

__all__ = ["CheckpointStore"]


class CheckpointStore:
    """Tables ``checkpoints`` and ``cosignatures`` of a `SqliteStore`."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._conn = store.connection

    def sizes(self) -> list[int]:
        """Sizes of all stored checkpoints, increasing."""
        return [
            row[0]
            for row in self._conn.execute("SELECT tree_size FROM checkpoints ORDER BY tree_size")
        ]

    def latest(self) -> SignedCheckpoint | None:
        """The newest checkpoint with its cosignatures, or None if none is signed yet."""
        row = self._conn.execute(
            "SELECT tree_size FROM checkpoints ORDER BY tree_size DESC LIMIT 1"
        ).fetchone()
        return None if row is None else self.get(int(row[0]))

    def get(self, tree_size: int) -> SignedCheckpoint | None:
        """The checkpoint at ``tree_size`` with its cosignatures, or None."""
        row = self._conn.execute(
            "SELECT note FROM checkpoints WHERE tree_size = ?", (tree_size,)
        ).fetchone()
        if row is None:
            return None
        signed = SignedCheckpoint.parse(str(row[0]))
        note = signed.note
        for signature in self.cosignatures(tree_size):
            note = note.with_signature(signature)
        return SignedCheckpoint(signed.checkpoint, note)

    def get_signed_only(self, tree_size: int) -> SignedCheckpoint:
        """The checkpoint row at ``tree_size`` as stored, without the cosignatures."""
        row = self._conn.execute(
            "SELECT note FROM checkpoints WHERE tree_size = ?", (tree_size,)
        ).fetchone()
        if row is None:
            raise StoreError(f"no checkpoint row at tree size {tree_size}")
        return SignedCheckpoint.parse(str(row[0]))

    def raw_cosignatures(self, tree_size: int) -> list[tuple[int, str, int, NoteSignature]]:
        """Rows of ``cosignatures`` for ``tree_size``: (size, cosigner, key ID, parsed line)."""
        return [
            (int(row[0]), str(row[1]), int(row[2]), NoteSignature.from_line(str(row[3])))
            for row in self._conn.execute(
                "SELECT tree_size, cosigner, key_id, line FROM cosignatures "
                "WHERE tree_size = ? ORDER BY cosigner, key_id",
                (tree_size,),
            )
        ]

    def cosigned_sizes(self) -> list[int]:
        """Distinct tree sizes that cosignature rows refer to, increasing."""
        return [
            int(row[0])
            for row in self._conn.execute(
                "SELECT DISTINCT tree_size FROM cosignatures ORDER BY tree_size"
            )
        ]

    def cosignatures(self, tree_size: int) -> list[NoteSignature]:
        """The cosignature lines stored for the checkpoint at ``tree_size``."""
        return [
            NoteSignature.from_line(str(row[0]))
            for row in self._conn.execute(
                "SELECT line FROM cosignatures WHERE tree_size = ? ORDER BY cosigner, key_id",
                (tree_size,),
            )
        ]

    def add(self, signed: SignedCheckpoint) -> None:
        """Store a newly signed checkpoint (inside the caller's transaction)."""
        self._write(
            "INSERT INTO checkpoints VALUES (?, ?)", (signed.tree_size, signed.note.format())
        )

    def add_cosignature(self, tree_size: int, signature: NoteSignature) -> bool:
        """Store a verified cosignature; return False if that line was already stored."""
        row = self._conn.execute(
            "SELECT line FROM cosignatures WHERE tree_size = ? AND cosigner = ? AND key_id = ?",
            (tree_size, signature.name, signature.key_id),
        ).fetchone()
        if row is not None:
            if row[0] != signature.line:
                raise StoreError(
                    f"cosigner {signature.name} already cosigned size {tree_size} "
                    "with another signature"
                )
            return False
        self._write(
            "INSERT INTO cosignatures VALUES (?, ?, ?, ?)",
            (tree_size, signature.name, signature.key_id, signature.line),
        )
        return True

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        if self._store.readonly:
            raise StoreError(f"{self._store.path}: opened read-only")
        try:
            self._conn.execute(sql, params)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self._store.path}: {exc}") from exc
