"""Run records, the leaves of a run's audit log: built, validated, encoded canonically.

A record is a JSON object with ``"v": 1`` and ``"type"`` one of ``run_start``, ``round``,
``run_resume`` (the coordinator restarted and goes on after a round) and ``run_end``. Fields
are fixed per type (a round's ``rejected`` list is optional); unknown fields are refused, so
nothing but hashes, partner ids, numbers and times can enter a leaf.

Notes:
    Partner ids must match ``[A-Za-z0-9][A-Za-z0-9._-]{0,63}``: an id is a pseudonymous label
    chosen by the federation, never a person's name or e-mail address. The caller passes
    only hashes (lowercase hex SHA-256), ids and numbers; no personal data goes in a leaf.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from audit.merkle import COSIGNATURE_V1, FormatError, parse_vkey
from audit.run.canonical_json import canonical_json, check_canonical_safe, parse_canonical
from audit.run.errors import RecordError
from audit.run.record_fields import (
    check_fields,
    check_hash,
    check_id_list,
    check_id_map,
    check_int,
    check_number,
    check_time,
    time_of,
)
from audit.run.statement import check_central, check_statements

__all__ = [
    "DP_TERMS",
    "RECORD_TYPES",
    "RECORD_VERSION",
    "encode_record",
    "format_time",
    "parse_record",
    "round_record",
    "run_end_record",
    "run_resume_record",
    "run_start_record",
    "validate_record",
]

RECORD_VERSION = 1
RECORD_TYPES = ("run_start", "round", "run_resume", "run_end")
DP_TERMS = frozenset(
    {
        "accountant",
        "max_grad_norm",
        "noise_multiplier",
        "sample_rate",
        "target_delta",
        "target_epsilon",
    }
)
"""DP terms a run-start record may carry, under Opacus's names."""

_FIELDS = {
    "run_start": (
        {
            "v",
            "type",
            "config_hash",
            "code_hash",
            "model_arch_hash",
            "dp",
            "partners",
            "started_at",
        },
        {"manifest_hash"},
    ),
    "round": (
        {
            "v",
            "type",
            "round",
            "participants",
            "dropouts",
            "refusals",
            "update_hashes",
            "model_hash_before",
            "model_hash_after",
            "epsilon_spent",
            "epsilon_cumulative",
            "epsilon_budget",
            "data_commitments",
            "started_at",
            "ended_at",
        },
        {"rejected", "dp", "central_dp"},
    ),
    "run_resume": ({"v", "type", "after_round", "model_hash", "resumed_at"}, set()),
    "run_end": ({"v", "type", "final_model_hash", "rounds", "ended_at"}, set()),
}


def format_time(moment: datetime | str) -> str:
    """UTC time as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``; requires an aware datetime."""
    if isinstance(moment, str):
        return check_time(moment, "time")
    if moment.tzinfo is None:
        raise RecordError("times must be timezone-aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _check_run_start(record: Mapping[str, Any]) -> None:
    for name in ("config_hash", "code_hash", "model_arch_hash"):
        check_hash(record[name], name)
    if "manifest_hash" in record:
        check_hash(record["manifest_hash"], "manifest_hash")
    dp = record["dp"]
    if not isinstance(dp, dict) or "target_delta" not in dp:
        raise RecordError("dp: an object with at least target_delta")
    for term, value in dp.items():
        if term not in DP_TERMS:
            raise RecordError(f"dp: unknown term {term!r} (known: {', '.join(sorted(DP_TERMS))})")
        if term == "accountant":
            if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9_-]{1,32}", value):
                raise RecordError("dp.accountant: a short lowercase name such as 'rdp'")
        else:
            check_number(value, f"dp.{term}")
    partners = check_id_map(record["partners"], "partners")
    if not partners:
        raise RecordError("partners: a run needs at least one partner")
    for partner, vkey in partners.items():
        try:
            verifier = parse_vkey(vkey) if isinstance(vkey, str) else None
        except FormatError as exc:
            raise RecordError(f"partners.{partner}: {exc}") from None
        if verifier is None or verifier.signature_type != COSIGNATURE_V1:
            raise RecordError(f"partners.{partner}: a cosigner verifier key (type 0x04)")
    check_time(record["started_at"], "started_at")


def _check_round(record: Mapping[str, Any]) -> None:
    check_int(record["round"], "round", minimum=1)
    groups = {
        name: set(check_id_list(record[name], name))
        for name in ("participants", "dropouts", "refusals")
    }
    for first, second in (
        ("participants", "dropouts"),
        ("participants", "refusals"),
        ("dropouts", "refusals"),
    ):
        both = groups[first] & groups[second]
        if both:
            raise RecordError(f"{', '.join(sorted(both))} in both {first} and {second}")
    participants = groups["participants"]
    trained = participants | groups["dropouts"]
    updates = check_id_map(record["update_hashes"], "update_hashes")
    if set(updates) != participants:
        raise RecordError("update_hashes: exactly one update hash per participant")
    for partner, value in updates.items():
        check_hash(value, f"update_hashes.{partner}")
    commitments = check_id_map(record["data_commitments"], "data_commitments")
    if not participants <= set(commitments):
        raise RecordError("data_commitments: every participant commits to its data")
    for partner, value in commitments.items():
        check_hash(value, f"data_commitments.{partner}")
    check_hash(record["model_hash_before"], "model_hash_before")
    check_hash(record["model_hash_after"], "model_hash_after")
    spent = check_id_map(record["epsilon_spent"], "epsilon_spent")
    cumulative = check_id_map(record["epsilon_cumulative"], "epsilon_cumulative")
    budget = check_id_map(record["epsilon_budget"], "epsilon_budget")
    if not set(spent) <= trained:
        raise RecordError("epsilon_spent: only participants and dropouts spend epsilon")
    if not set(spent) <= set(cumulative) <= set(budget):
        raise RecordError(
            "every partner with epsilon spent has a cumulative epsilon, and every "
            "cumulative epsilon has a budget"
        )
    for name, values in (("epsilon_spent", spent), ("epsilon_cumulative", cumulative)):
        for partner, value in values.items():
            check_number(value, f"{name}.{partner}")
    for partner, value in budget.items():
        if check_number(value, f"epsilon_budget.{partner}") <= 0:
            raise RecordError(f"epsilon_budget.{partner}: a budget is positive")
    for partner, value in cumulative.items():
        if value > budget[partner]:
            raise RecordError(
                f"epsilon_cumulative.{partner}: {value} exceeds its budget {budget[partner]}"
            )
    if "rejected" in record:
        rejected = set(check_id_list(record["rejected"], "rejected"))
        if not rejected <= groups["dropouts"]:
            raise RecordError("rejected: a rejected update's partner is among the dropouts")
    if time_of(record["started_at"], "started_at") > time_of(record["ended_at"], "ended_at"):
        raise RecordError("started_at is after ended_at")
    if "dp" in record:
        check_statements(record, participants, trained)
    if "central_dp" in record:
        check_central(record["central_dp"])


def _check_run_resume(record: Mapping[str, Any]) -> None:
    check_int(record["after_round"], "after_round", minimum=0)
    check_hash(record["model_hash"], "model_hash")
    check_time(record["resumed_at"], "resumed_at")


def _check_run_end(record: Mapping[str, Any]) -> None:
    check_hash(record["final_model_hash"], "final_model_hash")
    check_int(record["rounds"], "rounds", minimum=0)
    check_time(record["ended_at"], "ended_at")


def validate_record(record: Mapping[str, Any]) -> str:
    """Check a record's version, type and fields; return its type.

    Raises:
        RecordError: naming the first field that is missing, unknown or invalid.
    """
    if not isinstance(record, Mapping):
        raise RecordError("a record is a JSON object")
    check_canonical_safe(dict(record))
    if record.get("v") != RECORD_VERSION or isinstance(record.get("v"), bool):
        raise RecordError(f"v: this verifier reads records of version {RECORD_VERSION}")
    kind = record.get("type")
    if kind not in RECORD_TYPES:
        raise RecordError(f"type: one of {', '.join(RECORD_TYPES)}, not {kind!r}")
    required, optional = _FIELDS[kind]
    check_fields(record, required, optional, kind)
    checks = {
        "run_start": _check_run_start,
        "round": _check_round,
        "run_resume": _check_run_resume,
        "run_end": _check_run_end,
    }
    checks[kind](record)
    return str(kind)


def encode_record(record: Mapping[str, Any]) -> bytes:
    """Validate and encode a record as canonical JSON bytes (the leaf)."""
    validate_record(record)
    return canonical_json(dict(record))


def parse_record(data: bytes) -> dict[str, Any]:
    """Decode a leaf: canonical JSON of a valid record.

    Raises:
        FormatError: not canonical JSON. RecordError: not a valid record.
    """
    value = parse_canonical(data)
    if not isinstance(value, dict):
        raise RecordError("a record is a JSON object")
    validate_record(value)
    return value


def run_start_record(
    *,
    config_hash: str,
    code_hash: str,
    model_arch_hash: str,
    dp: Mapping[str, float | int | str],
    partners: Mapping[str, str],
    started_at: datetime | str,
    manifest_hash: str | None = None,
) -> dict[str, Any]:
    """Build a valid run-start record. ``partners`` maps partner id to cosigner vkey."""
    record: dict[str, Any] = {
        "v": RECORD_VERSION,
        "type": "run_start",
        "config_hash": config_hash,
        "code_hash": code_hash,
        "model_arch_hash": model_arch_hash,
        "dp": dict(dp),
        "partners": dict(partners),
        "started_at": format_time(started_at),
    }
    if manifest_hash is not None:
        record["manifest_hash"] = manifest_hash
    validate_record(record)
    return record


def round_record(
    *,
    round_number: int,
    participants: Iterable[str],
    update_hashes: Mapping[str, str],
    model_hash_before: str,
    model_hash_after: str,
    epsilon_spent: Mapping[str, float],
    epsilon_cumulative: Mapping[str, float],
    epsilon_budget: Mapping[str, float],
    data_commitments: Mapping[str, str],
    started_at: datetime | str,
    ended_at: datetime | str,
    dropouts: Iterable[str] = (),
    refusals: Iterable[str] = (),
    rejected: Iterable[str] = (),
    dp: Mapping[str, Mapping[str, Any]] | None = None,
    central_dp: Mapping[str, float | int] | None = None,
) -> dict[str, Any]:
    """Build a valid round record (id lists are sorted). ``rejected``: the dropouts whose
    update arrived but was refused before aggregation (non-finite, wrong shape, too large).
    ``dp``: the partners' signed statements, verbatim; ``central_dp``: partner-level DP."""
    record: dict[str, Any] = {
        "v": RECORD_VERSION,
        "type": "round",
        "round": round_number,
        "participants": sorted(participants),
        "dropouts": sorted(dropouts),
        "refusals": sorted(refusals),
        "update_hashes": dict(update_hashes),
        "model_hash_before": model_hash_before,
        "model_hash_after": model_hash_after,
        "epsilon_spent": dict(epsilon_spent),
        "epsilon_cumulative": dict(epsilon_cumulative),
        "epsilon_budget": dict(epsilon_budget),
        "data_commitments": dict(data_commitments),
        "started_at": format_time(started_at),
        "ended_at": format_time(ended_at),
    }
    if rejected:
        record["rejected"] = sorted(rejected)
    if dp:
        record["dp"] = {partner: dict(signed) for partner, signed in dp.items()}
    if central_dp is not None:
        record["central_dp"] = dict(central_dp)
    validate_record(record)
    return record


def run_resume_record(
    *, after_round: int, model_hash: str, resumed_at: datetime | str
) -> dict[str, Any]:
    """Build a valid run-resume record: the coordinator restarted and goes on after
    ``after_round`` from the global model ``model_hash`` (that round's model_hash_after)."""
    record: dict[str, Any] = {
        "v": RECORD_VERSION,
        "type": "run_resume",
        "after_round": after_round,
        "model_hash": model_hash,
        "resumed_at": format_time(resumed_at),
    }
    validate_record(record)
    return record


def run_end_record(
    *, final_model_hash: str, rounds: int, ended_at: datetime | str
) -> dict[str, Any]:
    """Build a valid run-end record."""
    record: dict[str, Any] = {
        "v": RECORD_VERSION,
        "type": "run_end",
        "final_model_hash": final_model_hash,
        "rounds": rounds,
        "ended_at": format_time(ended_at),
    }
    validate_record(record)
    return record
