"""Verification of RFC 9162 inclusion and consistency proofs (sections 2.1.3.2, 2.1.4.2).

The loops follow the RFC text step by step. Before them, the proof's length is checked
against the length the tree shape dictates, so that a truncated or padded proof fails with
a message that names the lengths instead of an opaque root mismatch.
"""

from __future__ import annotations

from collections.abc import Sequence

from audit.merkle.errors import RootMismatchError, VerificationError
from audit.merkle.hashing import EMPTY_ROOT, HASH_SIZE, node_hash
from audit.merkle.proof_shape import consistency_proof_length, inclusion_proof_length

__all__ = ["verify_consistency", "verify_inclusion"]


def _check_hash(what: str, value: bytes) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        size = len(value) if isinstance(value, bytes) else type(value).__name__
        raise VerificationError(
            f"{what} is not a {HASH_SIZE}-byte hash", expected=HASH_SIZE, computed=size
        )


def _check_proof(proof: Sequence[bytes], expected_length: int) -> None:
    if len(proof) != expected_length:
        raise VerificationError(
            "proof has the wrong number of hashes", expected=expected_length, computed=len(proof)
        )
    for position, element in enumerate(proof):
        _check_hash(f"proof element {position}", element)


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is the leaf at ``index`` of the tree of ``tree_size`` leaves
    whose root is ``root``.

    Requires ``0 <= index < tree_size``; anything else fails. Returns None on success.

    Raises:
        RootMismatchError: the proof leads to another root (both roots attached).
        VerificationError: the proof is malformed; ``expected``/``computed`` say how.
    """
    _check_hash("leaf hash", leaf_hash)
    _check_hash("root", root)
    if not 0 <= index < tree_size:
        raise VerificationError(f"leaf index {index} is outside a tree of size {tree_size}")
    _check_proof(proof, inclusion_proof_length(index, tree_size))
    fn, sn = index, tree_size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise VerificationError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("inclusion proof is shorter than the path to the root")
    if r != root:
        raise RootMismatchError(
            f"inclusion proof of leaf {index} in tree size {tree_size} leads to another root",
            expected=root,
            computed=r,
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size2`` leaves with root ``root2`` extends the tree of
    ``size1`` leaves with root ``root1``.

    Requires ``0 <= size1 <= size2``. Equal sizes need an empty proof and equal roots; the
    empty tree (``size1 == 0``, root SHA-256("")) is consistent with every tree. Returns None
    on success.

    Raises:
        RootMismatchError: the proof rebuilds another first or second root (both attached).
        VerificationError: the proof is malformed; ``expected``/``computed`` say how.
    """
    _check_hash("first root", root1)
    _check_hash("second root", root2)
    if not 0 <= size1 <= size2:
        raise VerificationError(f"tree sizes {size1} -> {size2} are not in append order")
    if size1 == size2 or size1 == 0:
        _check_proof(proof, 0)
        expected = root2 if size1 == size2 else EMPTY_ROOT
        if root1 != expected:
            raise RootMismatchError(
                f"first root does not match for tree sizes {size1} -> {size2}",
                expected=expected,
                computed=root1,
            )
        return
    _check_proof(proof, consistency_proof_length(size1, size2))
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("consistency proof is shorter than the path to the root")
    if fr != root1:
        raise RootMismatchError(
            f"consistency proof {size1} -> {size2} does not rebuild the first root",
            expected=root1,
            computed=fr,
        )
    if sr != root2:
        raise RootMismatchError(
            f"consistency proof {size1} -> {size2} does not rebuild the second root",
            expected=root2,
            computed=sr,
        )
