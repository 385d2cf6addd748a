"""A partner node's own folder: its keys, its pseudonymized data, its privacy ledger.

Nothing in it leaves the partner. In a deployment the partner names it in its node config
(``state-dir``); in a simulation each partner gets ``RUN_DIR/partner-homes/<partner>/``, beside
its raw data and outside everything the coordinator or a report sees.

Layout::

    witness.key          Ed25519 cosigner key for the audit log (0600), created on first use
    witness.vkey         its public half, for privacy officers (``audit verify --witness-vkey``)
    witness.json         the logs it pinned (origin, coordinator key) and the newest checkpoint
                         it cosigned of each
    statements/          the signed statement it sent each round, checked before it cosigns
    privacy.sqlite       the persistent privacy accountant (privacy.PrivacyLedger)
    erasure.jsonl        pseudonyms of customers who asked to be forgotten
    ingested/            the pseudonymized copy of the raw data, keyed by input and key

The pseudonymization key (32-byte HMAC key, 0600) is kept outside the folder, so a copy or a
backup of the data it protects does not carry it: where the partner says (``node init
--pseudonym-key``, recorded in ``node.toml``), or by default in ``keys/<folder-name>/`` beside
the folder (``default_key_path``; a simulation's partners thus keep theirs in
``RUN_DIR/partner-homes/keys/<partner>/``). A folder made before this rule, with its
``pseudonym.key`` inside, keeps working and is warned about once.
"""

from __future__ import annotations

# anonymization (Presidio, spaCy) is imported where a key is made or read: a node answering a
# query (hello, cosign) starts a fresh ClientApp process and should not pay for it.
import logging
from dataclasses import dataclass
from pathlib import Path

from client_node.errors import PartnerDataError

logger = logging.getLogger(__name__)

KEY_FILE = "pseudonym.key"
_warned_legacy: set[Path] = set()


def default_key_path(root: Path) -> Path:
    """Where a state folder's key is kept unless the partner says otherwise: beside the
    folder, in ``keys/<folder-name>/pseudonym.key``, never inside it."""
    return root.parent / "keys" / root.name / KEY_FILE


@dataclass(frozen=True)
class NodeState:
    """A node's state folder and where its pseudonymization key is.

    `key_file` is the key the partner chose (None: `default_key_path`). With `create_key`, a
    missing key is made on first use (`ensure`); without it (a node folder, whose key was made
    by ``node init``) a missing key is an error: a new key would change every pseudonym and
    silently void the erasure list.
    """

    root: Path
    key_file: Path | None = None
    create_key: bool = True

    @property
    def legacy_key_path(self) -> Path:
        """Where a folder made before keys moved out kept its key."""
        return self.root / KEY_FILE

    @property
    def pseudonym_key_path(self) -> Path:
        chosen = self.key_file or default_key_path(self.root)
        if not chosen.exists() and self.legacy_key_path.exists():
            if self.legacy_key_path not in _warned_legacy:
                _warned_legacy.add(self.legacy_key_path)
                logger.warning(
                    "the pseudonymization key %s is inside the node's state folder, beside the "
                    "data it protects; move it to %s (or elsewhere and record the path as "
                    "pseudonym-key in node.toml)",
                    self.legacy_key_path,
                    chosen,
                )
            return self.legacy_key_path
        return chosen

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
        """Create the folder (0700) and, with `create_key`, the key (0600, in a 0700 folder).

        Raises:
            PartnerDataError: the key is missing and may not be created here, or cannot be.
        """
        from anonymization import AnonymizationError, generate_key_file

        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.pseudonym_key_path
        if path.exists():
            return self
        if not self.create_key:
            raise _missing_key(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            generate_key_file(path)
            logger.info("created a pseudonymization key outside the node's state folder")
        except (OSError, AnonymizationError) as exc:
            if not path.exists():
                raise PartnerDataError(f"cannot create the pseudonymization key: {exc}") from None
        return self

    def pseudonym_key(self) -> bytes:
        """The key's bytes.

        Raises:
            PartnerDataError: the key file is missing or unreadable, naming its path.
        """
        from anonymization import AnonymizationError, load_key

        path = self.pseudonym_key_path
        if not path.exists():
            raise _missing_key(path)
        try:
            return load_key(path)
        except AnonymizationError as exc:
            raise PartnerDataError(f"the node's pseudonymization key: {exc}") from None


def _missing_key(path: Path) -> PartnerDataError:
    return PartnerDataError(
        f"the node's pseudonymization key {path} is missing; restore it from where the "
        "partner keeps it (a new key would change every pseudonym)"
    )
