"""fedinsight's run audit: typed run records, the rules across them, the coordinator's run
log, proof bundles and the offline run verifier.

Built on `audit.merkle`; needs only the standard library and ``cryptography`` (never
FastAPI), so the offline verifier can be vendored with `audit.merkle`.
"""

from audit.run.canonical_json import canonical_json, parse_canonical
from audit.run.errors import BudgetError, RecordError
from audit.run.ledger_check import LedgerReport, verify_ledger
from audit.run.proof_bundle import BundleReport, make_bundle, verify_bundle, write_bundle
from audit.run.rdp import rdp_epsilon
from audit.run.record_sequence import RecordSequence
from audit.run.records import (
    RECORD_TYPES,
    encode_record,
    parse_record,
    round_record,
    run_end_record,
    run_resume_record,
    run_start_record,
    validate_record,
)
from audit.run.run_audit_log import RunAuditLog
from audit.run.run_layout import audit_paths, bundle_path
from audit.run.run_verifier import RunReport, file_sha256, verify_run_dir
from audit.run.statement import ledger_link, sign_statement, verify_statement
from audit.run.trust import (
    PartnerEpsilon,
    PolicyReport,
    TrustPolicy,
    bundle_policy,
    read_keys,
    read_trust_file,
)

__all__ = [
    "RECORD_TYPES",
    "BudgetError",
    "BundleReport",
    "LedgerReport",
    "PartnerEpsilon",
    "PolicyReport",
    "RecordError",
    "RecordSequence",
    "RunAuditLog",
    "RunReport",
    "TrustPolicy",
    "audit_paths",
    "bundle_path",
    "bundle_policy",
    "canonical_json",
    "encode_record",
    "file_sha256",
    "ledger_link",
    "make_bundle",
    "parse_canonical",
    "parse_record",
    "rdp_epsilon",
    "read_keys",
    "read_trust_file",
    "round_record",
    "run_end_record",
    "run_resume_record",
    "run_start_record",
    "sign_statement",
    "validate_record",
    "verify_bundle",
    "verify_ledger",
    "verify_run_dir",
    "verify_statement",
    "write_bundle",
]
