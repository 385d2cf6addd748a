"""RFC 9162 Merkle log: hashing, compact ranges, proofs, the SQLite store, C2SP signed notes,
checkpoints, cosignatures and witnesses.

Generic transparency-log machinery that knows nothing of federated runs: it imports the
standard library and ``cryptography`` only, never `audit.run`, `audit.service` or the rest
of the project.
"""

from audit.merkle.atomic_write import write_atomic
from audit.merkle.checkpoint import Checkpoint, SignedCheckpoint
from audit.merkle.checkpoint_tables import CheckpointStore
from audit.merkle.compact_range import Frontier
from audit.merkle.errors import (
    AuditError,
    CheckpointError,
    FormatError,
    RootMismatchError,
    SignatureError,
    SplitViewError,
    StaleCheckpointError,
    StoreError,
    VerificationError,
)
from audit.merkle.hashing import (
    EMPTY_ROOT,
    HASH_SIZE,
    LEAF_PREFIX,
    NODE_PREFIX,
    leaf_hash,
    node_hash,
)
from audit.merkle.key_files import read_signer, read_vkey, write_private, write_signer, write_vkey
from audit.merkle.leaf_store import LeafStore
from audit.merkle.memory_store import MemoryStore
from audit.merkle.merkle_log import MAX_LEAF_BYTES, MerkleLog
from audit.merkle.note_keys import (
    COSIGNATURE_V1,
    NOTE_ED25519,
    NoteSigner,
    NoteVerifier,
    check_key_name,
    key_name_from,
    parse_vkey,
)
from audit.merkle.proof_verification import verify_consistency, verify_inclusion
from audit.merkle.recompute import Recomputed, recompute_store
from audit.merkle.signed_note import MAX_SIGNATURES, NoteSignature, SignedNote, parse_note
from audit.merkle.sqlite_schema import RUN_BYTES, RUN_LEAVES
from audit.merkle.sqlite_store import SqliteStore
from audit.merkle.witness import Witness

__all__ = [
    "COSIGNATURE_V1",
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LEAF_PREFIX",
    "MAX_LEAF_BYTES",
    "MAX_SIGNATURES",
    "NODE_PREFIX",
    "NOTE_ED25519",
    "RUN_BYTES",
    "RUN_LEAVES",
    "AuditError",
    "Checkpoint",
    "CheckpointError",
    "CheckpointStore",
    "FormatError",
    "Frontier",
    "LeafStore",
    "MemoryStore",
    "MerkleLog",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "Recomputed",
    "RootMismatchError",
    "SignatureError",
    "SignedCheckpoint",
    "SignedNote",
    "SplitViewError",
    "SqliteStore",
    "StaleCheckpointError",
    "StoreError",
    "VerificationError",
    "Witness",
    "check_key_name",
    "key_name_from",
    "leaf_hash",
    "node_hash",
    "parse_note",
    "parse_vkey",
    "read_signer",
    "read_vkey",
    "recompute_store",
    "verify_consistency",
    "verify_inclusion",
    "write_atomic",
    "write_private",
    "write_signer",
    "write_vkey",
]
