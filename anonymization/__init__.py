"""Pseudonymize every partner input before it is used: keyed pseudonyms for identifiers,
Presidio for free text, consent and erasure, and data commitments."""

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
from anonymization.keys import KEY_BYTES, generate_key_file, load_key
from anonymization.pseudonyms import Pseudonymizer
from anonymization.record import RecordIdentifiers
from anonymization.schema import PartnerSchema
from anonymization.synthetic import make_pii_events, pii_schema, write_pii_schema
from anonymization.table import pseudonymize_table
from anonymization.text import TextEngine, default_engine, spacy_model_engine

__all__ = [
    "KEY_BYTES",
    "AnonymizationError",
    "Commitment",
    "CommitmentError",
    "CommittedSet",
    "ConsentError",
    "ErasureListError",
    "KeyFileError",
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
    "load_consent_file",
    "load_erasure_list",
    "load_key",
    "make_pii_events",
    "offline_analyzer",
    "pii_schema",
    "prove_membership",
    "pseudonymize_table",
    "spacy_model_analyzer",
    "spacy_model_engine",
    "verify_membership",
    "write_pii_schema",
]
