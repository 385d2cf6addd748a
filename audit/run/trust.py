"""The privacy officer's trust policy, and the checks that use it.

The officer, not the log, says which keys to trust: the coordinator's verifier key, the
partners' witness keys (each partner hands out its ``witness.vkey``), the quorum of partner
cosignatures every checkpoint needs (default: every partner of the run) and, optionally, a
checkpoint kept elsewhere (a partner's last cosigned one) that the log must extend. With a
policy the verifier fails when a run-start witness key is not trusted, a checkpoint lacks its
quorum of distinct trusted cosignatures, a partner's statement is missing or its signature does
not verify, or a stated ε is below what the statement's own terms give (recomputed with
``audit.run.rdp``, composing the partner's rounds of the run).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from audit.merkle import (
    FormatError,
    NoteVerifier,
    SignedCheckpoint,
    VerificationError,
    parse_vkey,
    read_vkey,
)
from audit.run.json_limits import read_json_file
from audit.run.rdp import rdp_epsilon
from audit.run.records import parse_record
from audit.run.statement import verify_statement

__all__ = [
    "EPSILON_TOLERANCE",
    "PartnerEpsilon",
    "PolicyReport",
    "TrustPolicy",
    "bundle_policy",
    "check_central",
    "check_epsilons",
    "check_quorum",
    "check_statements_signed",
    "check_trusted_witnesses",
    "read_trust_file",
]

MAX_TRUST_BYTES = 1 << 20
"""Largest trust file read (a thousand partners' keys fit in a tenth of it)."""

EPSILON_TOLERANCE = 1e-6
"""Relative tolerance between a stated ε and the verifier's recomputation."""


@dataclass(frozen=True)
class TrustPolicy:
    """What the officer trusts. ``quorum`` None: every partner of the run, on every
    checkpoint. ``checkpoint``: a signed checkpoint note the log must extend (rollback)."""

    coordinator_key: NoteVerifier
    witness_keys: tuple[NoteVerifier, ...]
    quorum: int | None = None
    checkpoint: str | None = None
    allow_unfinished: bool = False

    def kept_checkpoint(self, origin: str) -> SignedCheckpoint | None:
        """The officer's kept checkpoint, checked against the coordinator key and ``origin``."""
        if self.checkpoint is None:
            return None
        kept = SignedCheckpoint.parse(self.checkpoint)
        kept.note.verify(self.coordinator_key)
        if kept.origin != origin:
            raise VerificationError(
                "the kept checkpoint is of another log", expected=origin, computed=kept.origin
            )
        return kept


def read_trust_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A trust file: JSON ``{"coordinator_vkey": str, "witness_vkeys": [str, ...],
    "quorum": int (optional)}``, checked; returns it with keys parsed (``coordinator_key``,
    ``witness_keys``).

    Raises:
        FormatError: naming the file and the field.
    """
    try:
        data = read_json_file(path, max_bytes=MAX_TRUST_BYTES)
    except OSError as exc:
        raise FormatError(f"{path}: not a readable JSON trust file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("coordinator_vkey"), str):
        raise FormatError(f"{path}: a trust file needs coordinator_vkey (a verifier key)")
    witnesses = data.get("witness_vkeys", [])
    if not isinstance(witnesses, list) or not all(isinstance(v, str) for v in witnesses):
        raise FormatError(f"{path}: witness_vkeys is a list of verifier keys")
    quorum = data.get("quorum")
    if quorum is not None and (isinstance(quorum, bool) or not isinstance(quorum, int)):
        raise FormatError(f"{path}: quorum is an integer")
    return {
        "coordinator_key": parse_vkey(data["coordinator_vkey"]),
        "witness_keys": tuple(parse_vkey(v) for v in witnesses),
        "quorum": quorum,
    }


def read_keys(paths: Iterable[str | os.PathLike[str]]) -> tuple[NoteVerifier, ...]:
    """Verifier keys from ``.vkey`` files."""
    return tuple(read_vkey(path) for path in paths)


@dataclass(frozen=True)
class PartnerEpsilon:
    """A partner's last stated cumulative ε and the verifier's recomputation over the run's
    rounds (None: not recomputable, an accountant other than ``rdp``)."""

    partner: str
    logged: float
    recomputed: float | None
    accountant: str
    delta: float
    rounds: int

    @property
    def gap(self) -> float:
        return 0.0 if self.recomputed is None else abs(self.recomputed - self.logged)


@dataclass(frozen=True)
class PolicyReport:
    """The policy a verification applied and what it found (for reports and the page)."""

    coordinator_vkey: str
    trusted_witnesses: tuple[str, ...]
    quorum: int
    partners: dict[str, str]
    min_cosignatures: int
    epsilon: dict[str, PartnerEpsilon] = field(default_factory=dict)
    checkpoint_size: int | None = None

    @property
    def max_epsilon_gap(self) -> float:
        """Largest |recomputed - logged| cumulative ε over the partners."""
        return max((e.gap for e in self.epsilon.values()), default=0.0)


def check_trusted_witnesses(partners: Mapping[str, str], policy: TrustPolicy) -> None:
    """Every witness key the run start declares is one the officer trusts."""
    trusted = {key.vkey for key in policy.witness_keys}
    for partner, vkey in sorted(partners.items()):
        if parse_vkey(vkey).vkey not in trusted:
            raise VerificationError(
                f"run start: the witness key of {partner} ({vkey.split('+')[0]}) is not one "
                "the officer trusts",
                expected=", ".join(sorted(trusted)),
                computed=vkey,
            )


def check_quorum(size: int, cosigners: set[str], partners: Mapping[str, str], quorum: int) -> None:
    """``cosigners``: distinct trusted partner vkeys whose cosignature of ``size`` verified."""
    if len(cosigners) < quorum:
        missing = sorted(
            p for p, vkey in partners.items() if parse_vkey(vkey).vkey not in cosigners
        )
        raise VerificationError(
            f"checkpoint {size}: {len(cosigners)} distinct partner cosignature(s), quorum "
            f"{quorum} (missing: {', '.join(missing) or 'none'})",
            expected=quorum,
            computed=len(cosigners),
        )


def check_statements_signed(
    record: Mapping[str, Any], origin: str, keys: Mapping[str, NoteVerifier]
) -> dict[str, dict[str, Any]]:
    """Every participant of a round record has a statement, each signed by its partner's
    run-start witness key and about this log; returns the statements by partner."""
    rnd = record["round"]
    statements = record.get("dp", {})
    missing = sorted(set(record["participants"]) - set(statements))
    if missing:
        raise VerificationError(f"round {rnd}: no signed statement from {', '.join(missing)}")
    out = {}
    for partner, signed in sorted(statements.items()):
        key = keys.get(partner)
        if key is None:
            raise VerificationError(f"round {rnd}: {partner} is not a partner of the run")
        statement = verify_statement(signed, key, f"round {rnd}: dp.{partner}")
        if statement["origin"] != origin:
            raise VerificationError(
                f"round {rnd}: {partner}'s statement is for another log",
                expected=origin,
                computed=statement["origin"],
            )
        out[partner] = statement
    return out


def _below(logged: float, recomputed: float) -> bool:
    return logged < recomputed * (1 - EPSILON_TOLERANCE)


def check_epsilons(
    statements: Sequence[tuple[int, str, Mapping[str, Any]]],
) -> dict[str, PartnerEpsilon]:
    """``statements``: (round, partner, statement) in round order. Each DP statement's ε must
    be at least its own terms' ε, and its cumulative ε at least the composition of the
    partner's charges so far in the run (the earlier ledger rows it lists, charged evaluations
    included, and its round; earlier runs only add to it), at its δ."""
    history: dict[str, list[tuple[float, float, int]]] = {}
    out: dict[str, PartnerEpsilon] = {}
    last_seq: dict[str, int] = {}
    for rnd, partner, st in statements:
        if "epsilon" not in st:
            continue
        if st["ledger_seq"] <= last_seq.get(partner, 0):
            raise VerificationError(
                f"round {rnd}: {partner}'s ledger went back (row {st['ledger_seq']} after "
                f"{last_seq[partner]})"
            )
        last_seq[partner] = st["ledger_seq"]
        terms = (st["noise_multiplier"], st["sample_rate"], st["steps"])
        history.setdefault(partner, []).append(terms)
        recomputed: float | None = None
        if st["accountant"] == "rdp":
            alone = rdp_epsilon([terms], st["delta"])
            if _below(st["epsilon"], alone):
                raise VerificationError(
                    f"round {rnd}: {partner} states epsilon {st['epsilon']:.9g}, below the "
                    f"{alone:.9g} its own terms give",
                    expected=repr(alone),
                    computed=repr(st["epsilon"]),
                )
            recomputed = rdp_epsilon(_run_terms(st, history[partner]), st["delta"])
            if _below(st["epsilon_cumulative"], recomputed):
                raise VerificationError(
                    f"round {rnd}: {partner} states cumulative epsilon "
                    f"{st['epsilon_cumulative']:.9g}, below the {recomputed:.9g} of its rounds",
                    expected=repr(recomputed),
                    computed=repr(st["epsilon_cumulative"]),
                )
        out[partner] = PartnerEpsilon(
            partner=partner,
            logged=float(st["epsilon_cumulative"]),
            recomputed=recomputed,
            accountant=str(st["accountant"]),
            delta=float(st["delta"]),
            rounds=len(history[partner]),
        )
    return out


def _run_terms(
    statement: Mapping[str, Any], rounds: list[tuple[float, float, int]]
) -> list[tuple[float, float, int]]:
    """The (noise multiplier, sample rate, steps) of every charge of the run up to this
    statement: the earlier ledger rows it lists (rounds and charged evaluations) and its own
    round; the statements' rounds alone when it lists none (or one under another accountant
    or δ, which this closed form cannot compose)."""
    charges = statement.get("charges") or []
    if not charges or any(
        c["accountant"] != "rdp" or c["delta"] != statement["delta"] for c in charges
    ):
        return rounds
    own = (statement["noise_multiplier"], statement["sample_rate"], statement["steps"])
    return [(c["noise_multiplier"], c["sample_rate"], c["steps"]) for c in charges] + [own]


def check_central(records: Sequence[Mapping[str, Any]]) -> None:
    """Each round's partner-level ε (``central_dp``) is at least the composition of its
    ``releases`` Gaussian mechanisms (every partner in every average: sample rate 1)."""
    for record in records:
        central = record.get("central_dp") if record["type"] == "round" else None
        if not central or not central["releases"] or not central["noise_multiplier"]:
            continue
        terms = (central["noise_multiplier"], 1.0, central["releases"])
        recomputed = rdp_epsilon([terms], central["delta"])
        if _below(central["epsilon"], recomputed):
            raise VerificationError(
                f"round {record['round']}: central DP states epsilon {central['epsilon']:.9g}, "
                f"below the {recomputed:.9g} of {central['releases']} release(s)",
                expected=repr(recomputed),
                computed=repr(central["epsilon"]),
            )


def bundle_policy(data: Mapping[str, Any], trust: TrustPolicy) -> PolicyReport:
    """The policy on a proof bundle (already verified against ``trust.coordinator_key``): the
    run start's witnesses trusted, a quorum of distinct trusted cosignatures on the bundle's
    checkpoint, the round's statements signed and their per-round ε not below their terms.
    A kept checkpoint must be the bundle's own (a bundle carries no consistency proof)."""
    signed = SignedCheckpoint.parse(data["checkpoint"])
    leaves = [base64.b64decode(entry["leaf"]) for entry in data["entries"]]
    start, record = parse_record(leaves[0]), parse_record(leaves[1])
    partners = dict(start["partners"])
    check_trusted_witnesses(partners, trust)
    keys = {partner: parse_vkey(vkey) for partner, vkey in partners.items()}
    cosigners = {key.vkey for key in signed.note.verify_known(keys.values())}
    quorum = len(partners) if trust.quorum is None else trust.quorum
    check_quorum(signed.tree_size, cosigners, partners, quorum)
    statements = check_statements_signed(record, signed.origin, keys)
    for partner, st in statements.items():
        if "epsilon" in st and st["accountant"] == "rdp":
            terms = (st["noise_multiplier"], st["sample_rate"], st["steps"])
            alone = rdp_epsilon([terms], st["delta"])
            if _below(st["epsilon"], alone) or _below(st["epsilon_cumulative"], alone):
                raise VerificationError(
                    f"round {record['round']}: {partner} states epsilon below the "
                    f"{alone:.9g} its own terms give"
                )
    kept = trust.kept_checkpoint(signed.origin)
    if kept is not None and (kept.tree_size, kept.root) != (signed.tree_size, signed.root):
        raise VerificationError(
            f"the kept checkpoint (size {kept.tree_size}) is not the bundle's (size "
            f"{signed.tree_size}); check it against the run directory",
            expected=kept.tree_size,
            computed=signed.tree_size,
        )
    return PolicyReport(
        coordinator_vkey=trust.coordinator_key.vkey,
        trusted_witnesses=tuple(key.vkey for key in trust.witness_keys),
        quorum=quorum,
        partners=partners,
        min_cosignatures=len(cosigners),
        checkpoint_size=None if kept is None else kept.tree_size,
    )
