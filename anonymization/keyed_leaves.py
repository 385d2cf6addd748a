"""Commitment leaves keyed per round, so that proofs from different rounds do not link.

A data commitment whose leaves were the bare pseudonyms would show, in every non-membership
proof, the two neighbouring customers' pseudonyms, the same in every round: anyone holding
proofs from several rounds could follow those customers through the run. Instead each leaf is

    leaf = hex(HMAC-SHA256(round_key, pseudonym))
    round_key = HMAC-SHA256(partner_key, "fedinsight-commitment" 0x00 run_id 0x00 round)

so a customer's leaf differs from round to round and from run to run, and a neighbour's leaf
says nothing about its pseudonym. To let an officer check one proof, the partner opens it
(`LeafOpening`): the customer's pseudonym and that one round's key. The round key is a
one-way function of the partner's key, so it opens no other round; with it the officer can
recompute this customer's leaf, but not learn whose the neighbouring leaves are.

Notes:
    The partner's key is its pseudonymization key: the round keys are derived under a label of
    their own (domain separation), so no round key is ever equal to a pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from anonymization.commitment import Commitment, MembershipProof, verify_membership
from anonymization.errors import CommitmentError

_LABEL = b"fedinsight-commitment"


def round_key(partner_key: bytes, *, run_id: str, server_round: int) -> bytes:
    """The key of round `server_round` of run `run_id` (32 bytes); requires a non-empty key."""
    if not partner_key:
        raise CommitmentError("a round key needs the partner's key")
    message = b"\0".join((_LABEL, run_id.encode("utf-8"), str(int(server_round)).encode()))
    return hmac.new(partner_key, message, hashlib.sha256).digest()


def round_leaf(key: bytes, pseudonym: str) -> str:
    """The leaf of `pseudonym` under a round's `key` (64 hex characters)."""
    return hmac.new(key, pseudonym.encode("utf-8"), hashlib.sha256).hexdigest()


def round_leaves(key: bytes, pseudonyms: Iterable[str]) -> list[str]:
    """The sorted, de-duplicated leaves of `pseudonyms` under a round's `key`."""
    return sorted({round_leaf(key, p) for p in pseudonyms})


@dataclass(frozen=True)
class LeafOpening:
    """What a partner discloses so that one proof can be checked: one customer's pseudonym and
    one round's key."""

    pseudonym: str
    round_key: bytes

    @property
    def leaf(self) -> str:
        return round_leaf(self.round_key, self.pseudonym)

    def to_dict(self) -> dict[str, Any]:
        return {"pseudonym": self.pseudonym, "round_key": self.round_key.hex()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LeafOpening:
        return cls(pseudonym=str(data["pseudonym"]), round_key=bytes.fromhex(data["round_key"]))


def verify_opened_membership(
    commitment: Commitment, proof: MembershipProof, opening: LeafOpening
) -> bool:
    """Check a keyed commitment's proof for the opened customer: True when it proves
    membership, False when it proves non-membership.

    Raises CommitmentError when the proof is for another leaf than the opening gives, or does
    not hold (see `verify_membership`).
    """
    if proof.pseudonym != opening.leaf:
        raise CommitmentError(
            "the proof is not for the opened customer's leaf of this round",
            expected=opening.leaf,
            computed=proof.pseudonym,
        )
    return verify_membership(commitment, proof)
