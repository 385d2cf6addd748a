"""Pseudonymize every partner input before it is used: keyed pseudonyms for identifiers,
Presidio for free text, consent and erasure, and data commitments."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from anonymization.commitment import (
        Commitment,
        CommittedSet,
        LeafProof,
        MembershipProof,
        data_commitment,
        prove_membership,
        verify_membership,
    )
    from anonymization.consent import apply_consent, load_consent_file
    from anonymization.engines import offline_analyzer, spacy_model_analyzer
    from anonymization.erasure import apply_erasure, forget, load_erasure_list
    from anonymization.errors import (
        AnonymizationError,
        CommitmentError,
        ConsentError,
        ErasureListError,
        KeyFileError,
        NlpModelError,
        SchemaError,
        TableError,
    )
    from anonymization.keyed_leaves import (
        LeafOpening,
        round_key,
        round_leaf,
        round_leaves,
        verify_opened_membership,
    )
    from anonymization.keys import KEY_BYTES, generate_key_file, load_key
    from anonymization.parallel import usable_cores
    from anonymization.pseudonyms import Pseudonymizer
    from anonymization.record import RecordIdentifiers
    from anonymization.schema import PartnerSchema
    from anonymization.startup import import_offline_default
    from anonymization.synthetic import make_pii_events, pii_schema, write_pii_schema
    from anonymization.table import pseudonymize_table, usable_rows
    from anonymization.text import TextEngine, default_engine, spacy_model_engine

# Submodules load when a name is first used (PEP 562): a process that needs only keys or
# errors does not load Presidio and spaCy.
_WHERE = {
    "Commitment": "anonymization.commitment",
    "CommittedSet": "anonymization.commitment",
    "LeafProof": "anonymization.commitment",
    "MembershipProof": "anonymization.commitment",
    "data_commitment": "anonymization.commitment",
    "prove_membership": "anonymization.commitment",
    "verify_membership": "anonymization.commitment",
    "apply_consent": "anonymization.consent",
    "load_consent_file": "anonymization.consent",
    "offline_analyzer": "anonymization.engines",
    "spacy_model_analyzer": "anonymization.engines",
    "apply_erasure": "anonymization.erasure",
    "forget": "anonymization.erasure",
    "load_erasure_list": "anonymization.erasure",
    "AnonymizationError": "anonymization.errors",
    "CommitmentError": "anonymization.errors",
    "ConsentError": "anonymization.errors",
    "ErasureListError": "anonymization.errors",
    "KeyFileError": "anonymization.errors",
    "NlpModelError": "anonymization.errors",
    "SchemaError": "anonymization.errors",
    "TableError": "anonymization.errors",
    "KEY_BYTES": "anonymization.keys",
    "generate_key_file": "anonymization.keys",
    "load_key": "anonymization.keys",
    "usable_cores": "anonymization.parallel",
    "Pseudonymizer": "anonymization.pseudonyms",
    "RecordIdentifiers": "anonymization.record",
    "LeafOpening": "anonymization.keyed_leaves",
    "round_key": "anonymization.keyed_leaves",
    "round_leaf": "anonymization.keyed_leaves",
    "round_leaves": "anonymization.keyed_leaves",
    "verify_opened_membership": "anonymization.keyed_leaves",
    "PartnerSchema": "anonymization.schema",
    "import_offline_default": "anonymization.startup",
    "make_pii_events": "anonymization.synthetic",
    "pii_schema": "anonymization.synthetic",
    "write_pii_schema": "anonymization.synthetic",
    "pseudonymize_table": "anonymization.table",
    "usable_rows": "anonymization.table",
    "TextEngine": "anonymization.text",
    "default_engine": "anonymization.text",
    "spacy_model_engine": "anonymization.text",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'anonymization' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "KEY_BYTES",
    "AnonymizationError",
    "Commitment",
    "CommitmentError",
    "CommittedSet",
    "ConsentError",
    "ErasureListError",
    "KeyFileError",
    "LeafOpening",
    "LeafProof",
    "MembershipProof",
    "NlpModelError",
    "PartnerSchema",
    "Pseudonymizer",
    "RecordIdentifiers",
    "SchemaError",
    "TableError",
    "TextEngine",
    "apply_consent",
    "apply_erasure",
    "data_commitment",
    "default_engine",
    "forget",
    "generate_key_file",
    "import_offline_default",
    "load_consent_file",
    "load_erasure_list",
    "load_key",
    "make_pii_events",
    "offline_analyzer",
    "pii_schema",
    "prove_membership",
    "pseudonymize_table",
    "round_key",
    "round_leaf",
    "round_leaves",
    "spacy_model_analyzer",
    "spacy_model_engine",
    "usable_cores",
    "usable_rows",
    "verify_membership",
    "verify_opened_membership",
    "write_pii_schema",
]
