"""A partner node's own folder: its keys, its pseudonymized data, its privacy ledger.

Nothing in it leaves the partner. In a deployment the partner names it in its node config
(``state-dir``); in a simulation each partner gets ``RUN_DIR/partner-homes/<partner>/``, beside
its raw data and outside everything the coordinator or a report sees.

Layout::

    pseudonym.key        32-byte HMAC key (0600), created on first use
    witness.key          Ed25519 cosigner key for the audit log (0600), created on first use
    witness.vkey         its public half, for privacy officers (``audit verify --witness-vkey``)
    witness.json         the logs it pinned (origin, coordinator key) and the newest checkpoint
                         it cosigned of each
    statements/          the signed statement it sent each round, checked before it cosigns
    privacy.sqlite       the persistent privacy accountant (privacy.PrivacyLedger)
    erasure.jsonl        pseudonyms of customers who asked to be forgotten
    ingested/            the pseudonymized copy of the raw data, keyed by input and key
"""

from __future__ import annotations

# anonymization (Presidio, spaCy) is imported where a key is made or read: a node answering a
# query (hello, cosign) starts a fresh ClientApp process and should not pay for it.
import logging
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NodeState:
    root: Path

    @property
    def pseudonym_key_path(self) -> Path:
        return self.root / "pseudonym.key"

    @property
    def witness_key_path(self) -> Path:
        return self.root / "witness.key"

    @property
    def witness_state_path(self) -> Path:
        return self.root / "witness.json"

    @property
    def ledger_path(self) -> Path:
        return self.root / "privacy.sqlite"

    @property
    def erasure_path(self) -> Path:
        return self.root / "erasure.jsonl"

    @property
    def ingested_dir(self) -> Path:
        return self.root / "ingested"

    def ensure(self) -> NodeState:
        """Create the folder (0700) and the pseudonymization key if they are missing."""
        from anonymization import AnonymizationError, generate_key_file

        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.pseudonym_key_path.exists():
            try:
                generate_key_file(self.pseudonym_key_path)
                logger.info("created a pseudonymization key in the node's state folder")
            except (FileExistsError, AnonymizationError):
                if not self.pseudonym_key_path.exists():
                    raise
        return self

    def pseudonym_key(self) -> bytes:
        from anonymization import load_key

        return load_key(self.pseudonym_key_path)
