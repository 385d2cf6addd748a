"""A partner's signed statement of one round: what it sent and the DP terms it trained under.

Each round, each partner that trained signs a statement with its witness key (the Ed25519 key
whose cosigner verifier key the run-start record lists). The coordinator copies the signed
statement verbatim into the round record, under ``dp.<partner>``; it cannot change a figure
without breaking the partner's signature, and the verifier recomputes every ε from the terms.

Signed bytes: ``STATEMENT_CONTEXT`` followed by the statement's canonical JSON. The context
separates these signatures from the key's C2SP cosignatures (which sign ``cosignature/v1``
messages), so neither can pass for the other.

Fields (``docs/audit.md`` documents them): always ``partner``, ``origin`` (the log's origin),
``round``, ``update_hash`` (SHA-256 of the update's tensors as sent) and ``data_commitment``
(Merkle root of the pseudonyms trained on). With DP, also the round's terms
``noise_multiplier``, ``sample_rate``, ``steps``, ``delta``, ``accountant``; ``epsilon`` (this
round alone, at ``delta``), ``epsilon_cumulative`` (every round in the partner's ledger, across
runs, at ``delta``) and ``epsilon_budget``; and the ledger chain: ``ledger_seq`` (the round's
row in the partner's ledger), ``ledger_prev`` and ``ledger_head`` (the chain's head before and
after the row; ``ledger_head`` = ``ledger_link(ledger_prev, entry)``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from audit.merkle import NoteSigner, NoteVerifier, SignatureError
from audit.run.canonical_json import canonical_json
from audit.run.errors import RecordError
from audit.run.record_fields import check_hash, check_id_map, check_int, check_number

__all__ = [
    "DP_STATEMENT_FIELDS",
    "LEDGER_GENESIS",
    "STATEMENT_CONTEXT",
    "STATEMENT_FIELDS",
    "check_central",
    "check_signed_statement",
    "check_statements",
    "ledger_link",
    "sign_statement",
    "verify_statement",
]

STATEMENT_CONTEXT = b"fedinsight-dp-statement/v1\n"
STATEMENT_FIELDS = frozenset({"partner", "origin", "round", "update_hash", "data_commitment"})
DP_STATEMENT_FIELDS = frozenset(
    {
        "noise_multiplier",
        "sample_rate",
        "steps",
        "delta",
        "accountant",
        "epsilon",
        "epsilon_cumulative",
        "epsilon_budget",
        "ledger_seq",
        "ledger_prev",
        "ledger_head",
        "charges",
    }
)
MAX_CHARGES = 100_000
"""Most earlier ledger rows one statement may list."""
LEDGER_GENESIS = "0" * 64
"""The ledger chain's head before its first row."""
LEDGER_ENTRY_FIELDS = ("seq", "noise_multiplier", "sample_rate", "steps", "delta", "accountant")
_LEDGER_CONTEXT = b"fedinsight-ledger/v1\n"
_ORIGIN = re.compile(r"[\x21-\x7e]{1,255}")


def ledger_link(prev: str, entry: Mapping[str, Any]) -> str:
    """The ledger chain's head after ``entry`` (a mapping of ``LEDGER_ENTRY_FIELDS``):
    hex SHA-256 of ``fedinsight-ledger/v1\\n``, ``prev`` (hex), ``\\n`` and the entry's JSON
    with sorted keys and no spaces (floats written as Python's ``repr``)."""
    body = json.dumps(
        {name: entry[name] for name in LEDGER_ENTRY_FIELDS}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(_LEDGER_CONTEXT + prev.encode() + b"\n" + body.encode()).hexdigest()


def _message(statement: Mapping[str, Any]) -> bytes:
    return STATEMENT_CONTEXT + canonical_json(dict(statement))


def sign_statement(signer: NoteSigner, statement: Mapping[str, Any]) -> dict[str, Any]:
    """``{"statement": ..., "signature": base64}``, after checking the statement's fields."""
    _check_statement(statement, "statement")
    signature = signer.private_key.sign(_message(statement))
    return {"statement": dict(statement), "signature": base64.b64encode(signature).decode()}


def check_signed_statement(value: Any, where: str) -> dict[str, Any]:
    """The shape of a signed statement (not its signature); returns the statement.

    Raises:
        RecordError: naming the first field that is missing, unknown or invalid.
    """
    if not isinstance(value, dict) or set(value) != {"statement", "signature"}:
        raise RecordError(f"{where}: an object of statement and signature")
    signature = value["signature"]
    try:
        raw = base64.b64decode(signature, validate=True) if isinstance(signature, str) else b""
    except binascii.Error:
        raw = b""
    if len(raw) != 64:
        raise RecordError(f"{where}.signature: a base64 Ed25519 signature (64 bytes)")
    statement = value["statement"]
    _check_statement(statement, f"{where}.statement")
    return dict(statement)


def _check_charges(charges: Any, seq: Any, where: str) -> None:
    """``charges``: the partner's earlier ledger rows of this run (training rounds and charged
    evaluations), oldest first, each with exactly ``LEDGER_ENTRY_FIELDS``, below ``seq``."""
    if not isinstance(charges, list) or len(charges) > MAX_CHARGES:
        raise RecordError(f"{where}: a list of at most {MAX_CHARGES} ledger rows")
    last = 0
    for n, row in enumerate(charges):
        at = f"{where}[{n}]"
        if not isinstance(row, Mapping) or set(row) != set(LEDGER_ENTRY_FIELDS):
            raise RecordError(f"{at}: an object of {', '.join(LEDGER_ENTRY_FIELDS)}")
        row_seq = check_int(row["seq"], f"{at}.seq", minimum=last + 1)
        if row_seq >= seq:
            raise RecordError(f"{at}.seq: below the statement's ledger_seq {seq}")
        last = row_seq
        for name in ("noise_multiplier", "sample_rate", "delta"):
            check_number(row[name], f"{at}.{name}")
        check_int(row["steps"], f"{at}.steps", minimum=0)
        if row["noise_multiplier"] <= 0 or not 0 < row["sample_rate"] <= 1:
            raise RecordError(f"{at}: noise_multiplier > 0 and sample_rate in (0, 1]")
        if not 0 < row["delta"] < 1:
            raise RecordError(f"{at}.delta: in (0, 1)")
        if not isinstance(row["accountant"], str) or not re.fullmatch(
            r"[a-z0-9_-]{1,32}", row["accountant"]
        ):
            raise RecordError(f"{at}.accountant: a short lowercase name such as 'rdp'")


def _check_statement(statement: Any, where: str) -> None:
    if not isinstance(statement, Mapping):
        raise RecordError(f"{where}: an object")
    keys = set(statement)
    missing = sorted(STATEMENT_FIELDS - keys)
    if missing:
        raise RecordError(f"{where}: missing {', '.join(missing)}")
    extra = keys - STATEMENT_FIELDS
    if extra and extra != DP_STATEMENT_FIELDS:
        unknown = sorted(extra - DP_STATEMENT_FIELDS)
        absent = sorted(DP_STATEMENT_FIELDS - extra)
        raise RecordError(
            f"{where}: "
            + (f"unknown field {', '.join(unknown)}" if unknown else "")
            + ("; " if unknown and absent else "")
            + (f"DP terms missing {', '.join(absent)}" if absent else "")
        )
    if not isinstance(statement["partner"], str) or not statement["partner"]:
        raise RecordError(f"{where}.partner: the partner's id")
    if not isinstance(statement["origin"], str) or not _ORIGIN.fullmatch(statement["origin"]):
        raise RecordError(f"{where}.origin: the log's origin line")
    check_int(statement["round"], f"{where}.round", minimum=1)
    check_hash(statement["update_hash"], f"{where}.update_hash")
    check_hash(statement["data_commitment"], f"{where}.data_commitment")
    if not extra:
        return
    for name in ("noise_multiplier", "sample_rate", "delta", "epsilon", "epsilon_cumulative"):
        check_number(statement[name], f"{where}.{name}")
    if check_number(statement["epsilon_budget"], f"{where}.epsilon_budget") <= 0:
        raise RecordError(f"{where}.epsilon_budget: a budget is positive")
    if statement["noise_multiplier"] <= 0 or not 0 < statement["sample_rate"] <= 1:
        raise RecordError(f"{where}: noise_multiplier > 0 and sample_rate in (0, 1]")
    if not 0 < statement["delta"] < 1:
        raise RecordError(f"{where}.delta: in (0, 1)")
    check_int(statement["steps"], f"{where}.steps", minimum=0)
    check_int(statement["ledger_seq"], f"{where}.ledger_seq", minimum=1)
    check_hash(statement["ledger_prev"], f"{where}.ledger_prev")
    check_hash(statement["ledger_head"], f"{where}.ledger_head")
    accountant = statement["accountant"]
    if not isinstance(accountant, str) or not re.fullmatch(r"[a-z0-9_-]{1,32}", accountant):
        raise RecordError(f"{where}.accountant: a short lowercase name such as 'rdp'")
    if statement["epsilon_cumulative"] > statement["epsilon_budget"]:
        raise RecordError(
            f"{where}: epsilon_cumulative {statement['epsilon_cumulative']} exceeds the "
            f"budget {statement['epsilon_budget']}"
        )
    _check_charges(statement["charges"], statement["ledger_seq"], f"{where}.charges")
    entry = {name: statement[name] for name in LEDGER_ENTRY_FIELDS if name != "seq"}
    entry["seq"] = statement["ledger_seq"]
    if ledger_link(statement["ledger_prev"], entry) != statement["ledger_head"]:
        raise RecordError(f"{where}.ledger_head: not the chain link of ledger_prev and the round")


def verify_statement(signed: Mapping[str, Any], key: NoteVerifier, where: str) -> dict[str, Any]:
    """Check a signed statement's shape and its signature by ``key``; returns the statement.

    Raises:
        RecordError: a malformed statement. SignatureError: the signature does not verify.
    """
    statement = check_signed_statement(signed, where)
    signature = base64.b64decode(signed["signature"])
    if not key.verify_plain(_message(statement), signature):
        raise SignatureError(
            f"{where}: the statement's signature does not verify with {key.name}'s key "
            f"(key ID {key.key_id:08x})"
        )
    return statement


def check_statements(record: Mapping[str, Any], participants: set[str], trained: set[str]) -> None:
    """``dp``: each partner's signed statement (``audit.run.statement``), copied verbatim; one
    per participant (a dropout's may be there too), each about this partner, round, update
    and data commitment, and stating the cumulative ε and budget the record states."""
    statements = check_id_map(record["dp"], "dp")
    if not participants <= set(statements) <= trained:
        raise RecordError("dp: a signed statement for every participant, and only who trained")
    for partner, signed in statements.items():
        where = f"dp.{partner}"
        statement = check_signed_statement(signed, where)
        if statement["partner"] != partner or statement["round"] != record["round"]:
            raise RecordError(f"{where}: the statement is another partner's or round's")
        if partner not in participants:
            continue
        for name, field in (
            ("update_hashes", "update_hash"),
            ("data_commitments", "data_commitment"),
            ("epsilon_cumulative", "epsilon_cumulative"),
            ("epsilon_budget", "epsilon_budget"),
        ):
            if field in statement and record[name].get(partner) != statement[field]:
                raise RecordError(
                    f"{name}.{partner}: {record[name].get(partner)!r} is not what the partner "
                    f"signed ({statement[field]!r})"
                )


_CENTRAL_TERMS = frozenset(
    {"noise_multiplier", "clipping_norm", "sampled_partners", "releases", "epsilon", "delta"}
)


def check_central(value: Any) -> None:
    """``central_dp``: the partner-level DP terms of the round's release and the ε of every
    release so far (``releases`` Gaussian mechanisms at ``noise_multiplier``, ``delta``)."""
    if not isinstance(value, dict) or set(value) != _CENTRAL_TERMS:
        raise RecordError(f"central_dp: an object of {', '.join(sorted(_CENTRAL_TERMS))}")
    for name in ("noise_multiplier", "clipping_norm", "epsilon", "delta"):
        check_number(value[name], f"central_dp.{name}")
    check_int(value["sampled_partners"], "central_dp.sampled_partners", minimum=0)
    check_int(value["releases"], "central_dp.releases", minimum=0)
    if not 0 < value["delta"] < 1:
        raise RecordError("central_dp.delta: in (0, 1)")
