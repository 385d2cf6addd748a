"""Tamper-evident audit log of federated runs: an RFC 9162 Merkle log with C2SP checkpoints,
witness cosignatures, proof bundles and an offline verifier.

Imports nothing from the rest of the project (stdlib and ``cryptography`` only), so a
privacy officer can vendor it. The HTTP service lives in `audit.service` and is imported
only on demand (it needs FastAPI).
"""

from audit.bundle import BundleReport, make_bundle, verify_bundle, write_bundle
from audit.checkpoint import Checkpoint
from audit.checkpoint_store import SignedCheckpoint
from audit.errors import (
    AuditError,
    BudgetError,
    CheckpointError,
    FormatError,
    RecordError,
    SignatureError,
    SplitViewError,
    StaleCheckpointError,
    StoreError,
    VerificationError,
)
from audit.hashing import EMPTY_ROOT, leaf_hash, node_hash
from audit.keyfiles import read_signer, read_vkey, write_signer, write_vkey
from audit.keys import COSIGNATURE_V1, NOTE_ED25519, NoteSigner, NoteVerifier, parse_vkey
from audit.log import MerkleLog
from audit.note import NoteSignature, SignedNote, parse_note
from audit.records import (
    encode_record,
    parse_record,
    round_record,
    run_end_record,
    run_resume_record,
    run_start_record,
)
from audit.runlog import RunAuditLog
from audit.verifier import RunReport, file_sha256, verify_run_dir
from audit.verify import verify_consistency, verify_inclusion
from audit.witness import Witness

__all__ = [
    "COSIGNATURE_V1",
    "EMPTY_ROOT",
    "NOTE_ED25519",
    "AuditError",
    "BudgetError",
    "BundleReport",
    "Checkpoint",
    "CheckpointError",
    "FormatError",
    "MerkleLog",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "RecordError",
    "RunAuditLog",
    "RunReport",
    "SignatureError",
    "SignedCheckpoint",
    "SignedNote",
    "SplitViewError",
    "StaleCheckpointError",
    "StoreError",
    "VerificationError",
    "Witness",
    "encode_record",
    "file_sha256",
    "leaf_hash",
    "make_bundle",
    "node_hash",
    "parse_note",
    "parse_record",
    "parse_vkey",
    "read_signer",
    "read_vkey",
    "round_record",
    "run_end_record",
    "run_resume_record",
    "run_start_record",
    "verify_bundle",
    "verify_consistency",
    "verify_inclusion",
    "verify_run_dir",
    "write_bundle",
    "write_signer",
    "write_vkey",
]
