"""One partner's privacy ledger across runs, from the proof bundles of the rounds it trained.

Each round's signed statement carries the partner's ledger row number (``ledger_seq``) and the
chain's heads before and after the row (``ledger_prev``, ``ledger_head``; ``ledger_link``). Put
in row order, the statements of several runs must form one chain: rows strictly increasing
(never a reset to a fresh ledger), and where two rows are consecutive the later one's
``ledger_prev`` is the earlier one's ``ledger_head``. The first row's ``ledger_prev`` is the
genesis head. Rows not in any bundle (rounds not bundled, rounds of other federations) are
gaps: counted, not hidden; a statement lists the earlier rows of its run (``charges``: rounds
and charged evaluations), so the chain is followed through them. The total ε is the last
statement's cumulative ε, checked to be at least what the rows shown compose to.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.merkle import NoteVerifier, VerificationError
from audit.run.json_limits import MAX_BUNDLE_BYTES, read_json_file
from audit.run.proof_bundle import verify_bundle
from audit.run.rdp import rdp_epsilon
from audit.run.records import parse_record
from audit.run.statement import (
    LEDGER_ENTRY_FIELDS,
    LEDGER_GENESIS,
    ledger_link,
    verify_statement,
)
from audit.run.trust import EPSILON_TOLERANCE

__all__ = ["LedgerReport", "verify_ledger"]


@dataclass(frozen=True)
class LedgerReport:
    """What the bundles establish about the partner's ledger."""

    partner_key: str
    rounds: int
    runs: tuple[str, ...]
    first_seq: int
    last_seq: int
    gaps: int
    total_epsilon: float
    recomputed_epsilon: float | None


def _statement_of(bundle: Path, key: NoteVerifier) -> Any:
    report = verify_bundle(bundle)
    data = read_json_file(bundle, max_bytes=MAX_BUNDLE_BYTES)
    start = parse_record(base64.b64decode(data["entries"][0]["leaf"]))
    names = [p for p, vkey in start["partners"].items() if vkey.strip() == key.vkey]
    if not names:
        raise VerificationError(f"{bundle}: the partner's key is not a witness of that run")
    signed = report.record.get("dp", {}).get(names[0])
    if signed is None:
        raise VerificationError(
            f"{bundle}: no statement of the partner in round {report.round_number}"
        )
    return verify_statement(signed, key, f"{bundle}: statement")


def _rows_shown(statements: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Every ledger row the statements show: their own rounds and the earlier rows of each run
    they list (``charges``: rounds and charged evaluations), by row number."""
    shown: dict[int, dict[str, Any]] = {}
    for st in statements:
        for row in st.get("charges") or []:
            shown[row["seq"]] = dict(row)
        shown[st["ledger_seq"]] = {
            name: st["ledger_seq"] if name == "seq" else st[name] for name in LEDGER_ENTRY_FIELDS
        }
    return shown


def _check_chain(statements: list[dict[str, Any]]) -> int:
    """Check the chain between consecutive statements (in row order), linking through the rows
    a statement lists between them; return the number of rows no statement shows."""
    gaps = 0
    previous: dict[str, Any] | None = None
    for st in statements:
        seq = st["ledger_seq"]
        listed = {row["seq"]: row for row in st.get("charges") or []}
        if previous is None:
            if seq == 1 and st["ledger_prev"] != LEDGER_GENESIS:
                raise VerificationError("ledger row 1 does not start from the genesis head")
            gaps += sum(1 for n in range(1, seq) if n not in listed)
        elif seq == previous["ledger_seq"]:
            raise VerificationError(
                f"ledger row {seq} appears twice (in {previous['origin']} round "
                f"{previous['round']} and {st['origin']} round {st['round']}): a reset ledger"
            )
        else:
            between = range(previous["ledger_seq"] + 1, seq)
            if all(n in listed for n in between):
                head = previous["ledger_head"]
                for n in between:
                    head = ledger_link(head, listed[n])
                if head != st["ledger_prev"]:
                    raise VerificationError(
                        f"ledger row {seq} does not continue row {seq - 1}'s chain",
                        expected=head,
                        computed=st["ledger_prev"],
                    )
            else:
                gaps += sum(1 for n in between if n not in listed)
        previous = st
    return gaps


def verify_ledger(
    bundles: list[str | os.PathLike[str]],
    witness_key: NoteVerifier,
) -> LedgerReport:
    """Check one partner's ledger chain across the bundles (module doc).

    Raises:
        VerificationError: a bundle fails, a statement's signature fails, the chain breaks or
            resets, or the total ε is below its rounds.
    """
    statements = []
    for path in bundles:
        statement = _statement_of(Path(path), witness_key)
        if "ledger_seq" not in statement:
            raise VerificationError(f"{path}: the partner's statement has no DP terms")
        statements.append(statement)
    if not statements:
        raise VerificationError("no bundle given")
    statements.sort(key=lambda st: st["ledger_seq"])
    shown = _rows_shown(statements)
    gaps = _check_chain(statements)
    last = statements[-1]
    recomputed = None
    if all(row["accountant"] == "rdp" and row["delta"] == last["delta"] for row in shown.values()):
        history = [
            (row["noise_multiplier"], row["sample_rate"], row["steps"])
            for _, row in sorted(shown.items())
        ]
        recomputed = rdp_epsilon(history, last["delta"])
        if last["epsilon_cumulative"] < recomputed * (1 - EPSILON_TOLERANCE):
            raise VerificationError(
                f"the last cumulative epsilon {last['epsilon_cumulative']:.9g} is below the "
                f"{recomputed:.9g} of the rows shown"
            )
    return LedgerReport(
        partner_key=witness_key.vkey,
        rounds=len(statements),
        runs=tuple(sorted({st["origin"] for st in statements})),
        first_seq=min(shown),
        last_seq=last["ledger_seq"],
        gaps=gaps,
        total_epsilon=float(last["epsilon_cumulative"]),
        recomputed_epsilon=recomputed,
    )
