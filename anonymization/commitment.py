"""Data commitments: a Merkle root over the pseudonyms a partner trains on.

The leaves are the sorted, de-duplicated pseudonyms (leaf data = the pseudonym's ASCII bytes,
leaf hash = RFC 6962 SHA-256(0x00 || data), via `audit`). Sorting makes non-membership provable:
a pseudonym that is absent falls between two adjacent leaves, and inclusion proofs of those two
show that nothing lies between them.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from anonymization.errors import CommitmentError
from audit import EMPTY_ROOT, MerkleLog, VerificationError, leaf_hash, verify_inclusion


@dataclass(frozen=True)
class Commitment:
    """Root and size of the Merkle tree over a sorted set of pseudonyms."""

    root: bytes
    tree_size: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (hex root)."""
        return {"root": self.root.hex(), "tree_size": self.tree_size}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Commitment:
        """Inverse of `to_dict`."""
        return cls(root=bytes.fromhex(data["root"]), tree_size=int(data["tree_size"]))


@dataclass(frozen=True)
class LeafProof:
    """An inclusion proof of the leaf `pseudonym` at `index`."""

    pseudonym: str
    index: int
    proof: tuple[bytes, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (hex hashes)."""
        return {
            "pseudonym": self.pseudonym,
            "index": self.index,
            "proof": [h.hex() for h in self.proof],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LeafProof:
        """Inverse of `to_dict`."""
        return cls(
            pseudonym=str(data["pseudonym"]),
            index=int(data["index"]),
            proof=tuple(bytes.fromhex(h) for h in data["proof"]),
        )


@dataclass(frozen=True)
class MembershipProof:
    """Proof that `pseudonym` is (`member` set) or is not (`left`/`right` set) in a commitment.

    For a non-member, `left` is the greatest leaf below it and `right` the least leaf above it;
    either is None at the ends of the sorted list, both for an empty set.
    """

    pseudonym: str
    tree_size: int
    member: LeafProof | None = None
    left: LeafProof | None = None
    right: LeafProof | None = None

    @property
    def is_member(self) -> bool:
        """Whether this claims membership."""
        return self.member is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "pseudonym": self.pseudonym,
            "tree_size": self.tree_size,
            "member": self.member.to_dict() if self.member else None,
            "left": self.left.to_dict() if self.left else None,
            "right": self.right.to_dict() if self.right else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MembershipProof:
        """Inverse of `to_dict`."""

        def leaf(key: str) -> LeafProof | None:
            value = data.get(key)
            return LeafProof.from_dict(value) if value else None

        return cls(
            pseudonym=str(data["pseudonym"]),
            tree_size=int(data["tree_size"]),
            member=leaf("member"),
            left=leaf("left"),
            right=leaf("right"),
        )


class CommittedSet:
    """A sorted set of pseudonyms in an in-memory Merkle tree: commit once, prove many times."""

    def __init__(self, pseudonyms: Iterable[str]) -> None:
        self._leaves = sorted({_leaf_data(p) for p in pseudonyms})
        self._log = MerkleLog()
        self._log.extend(self._leaves)

    @property
    def commitment(self) -> Commitment:
        """The set's root and size."""
        return Commitment(root=self._log.root(), tree_size=self._log.size)

    def _leaf_proof(self, index: int) -> LeafProof:
        return LeafProof(
            pseudonym=self._leaves[index].decode("ascii"),
            index=index,
            proof=tuple(self._log.inclusion_proof(index, self._log.size)),
        )

    def prove(self, pseudonym: str) -> MembershipProof:
        """An inclusion proof when `pseudonym` is in the set, else a non-inclusion proof."""
        data = _leaf_data(pseudonym)
        size = len(self._leaves)
        position = bisect.bisect_left(self._leaves, data)
        if position < size and self._leaves[position] == data:
            return MembershipProof(pseudonym, size, member=self._leaf_proof(position))
        return MembershipProof(
            pseudonym,
            size,
            left=self._leaf_proof(position - 1) if position > 0 else None,
            right=self._leaf_proof(position) if position < size else None,
        )


def _leaf_data(pseudonym: str) -> bytes:
    try:
        return pseudonym.encode("ascii")
    except UnicodeEncodeError as err:
        raise CommitmentError("a pseudonym must be ASCII") from err


def data_commitment(pseudonyms: Iterable[str]) -> Commitment:
    """The commitment to the sorted, de-duplicated `pseudonyms`."""
    return CommittedSet(pseudonyms).commitment


def prove_membership(pseudonyms: Iterable[str], pseudonym: str) -> MembershipProof:
    """A membership or non-membership proof of `pseudonym` against `data_commitment(pseudonyms)`."""
    return CommittedSet(pseudonyms).prove(pseudonym)


def _check_leaf(commitment: Commitment, leaf: LeafProof, role: str) -> None:
    try:
        verify_inclusion(
            leaf_hash(_leaf_data(leaf.pseudonym)),
            leaf.index,
            commitment.tree_size,
            leaf.proof,
            commitment.root,
        )
    except VerificationError as err:
        raise CommitmentError(
            f"{role} leaf: {err.message}",
            expected=_show(err.expected),
            computed=_show(err.computed),
        ) from err


def _show(value: object) -> str:
    if isinstance(value, bytes):
        return value.hex()
    return "" if value is None else str(value)


def verify_membership(commitment: Commitment, proof: MembershipProof) -> bool:
    """Check `proof` against `commitment`: True when it proves membership, False when it proves
    non-membership.

    Raises CommitmentError (with what was expected and computed) when the proof does not hold.
    """
    if proof.tree_size != commitment.tree_size:
        raise CommitmentError(
            "proof is for another tree size",
            expected=str(commitment.tree_size),
            computed=str(proof.tree_size),
        )
    target = _leaf_data(proof.pseudonym)
    if proof.member is not None:
        if proof.left is not None or proof.right is not None:
            raise CommitmentError("a membership proof carries no neighbours")
        if proof.member.pseudonym != proof.pseudonym:
            raise CommitmentError(
                "membership proof is for another leaf",
                expected=proof.pseudonym,
                computed=proof.member.pseudonym,
            )
        _check_leaf(commitment, proof.member, "member")
        return True
    left, right = proof.left, proof.right
    if left is None and right is None:
        if commitment.tree_size != 0 or commitment.root != EMPTY_ROOT:
            raise CommitmentError(
                "a non-membership proof without neighbours needs the empty set",
                expected="tree size 0",
                computed=f"tree size {commitment.tree_size}",
            )
        return False
    if left is not None:
        _check_leaf(commitment, left, "left")
        if not _leaf_data(left.pseudonym) < target:
            raise CommitmentError("left neighbour does not sort below the pseudonym")
    elif right is not None and right.index != 0:
        raise CommitmentError(
            "without a left neighbour the right one must be leaf 0",
            expected="0",
            computed=str(right.index),
        )
    if right is not None:
        _check_leaf(commitment, right, "right")
        if not target < _leaf_data(right.pseudonym):
            raise CommitmentError("right neighbour does not sort above the pseudonym")
    elif left is not None and left.index != commitment.tree_size - 1:
        raise CommitmentError(
            "without a right neighbour the left one must be the last leaf",
            expected=str(commitment.tree_size - 1),
            computed=str(left.index),
        )
    if left is not None and right is not None and right.index != left.index + 1:
        raise CommitmentError(
            "neighbours are not adjacent leaves",
            expected=str(left.index + 1),
            computed=str(right.index),
        )
    return False
