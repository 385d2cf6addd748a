"""Shape of RFC 9162 proofs: which subtrees a proof names, and how many hashes it has.

A proof element is the Merkle tree hash MTH(D[start:end]) of a range of leaves. Every range
that the RFC 9162 recursion produces starts at a multiple of the largest power of two not
above its length, so it splits into perfect subtrees along the binary digits of its length;
a perfect subtree of 2**level leaves starting at leaf ``index * 2**level`` is named by the
pair ``(level, index)``, the key under which stores keep its hash.
"""

from __future__ import annotations

__all__ = [
    "Node",
    "consistency_proof_length",
    "consistency_ranges",
    "inclusion_nodes",
    "inclusion_proof_length",
    "inclusion_ranges",
    "range_nodes",
]

Node = tuple[int, int]
"""A perfect subtree as ``(level, index)``: leaves ``[index << level, (index + 1) << level)``."""


def _split(size: int) -> int:
    """Largest power of two strictly below ``size``; requires size >= 2."""
    return 1 << ((size - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[Node]:
    """Perfect subtrees covering ``[start, end)``, left to right, largest first.

    Requires ``0 <= start < end`` and ``start`` a multiple of the largest power of two not
    above ``end - start`` (true of ``[0, n)`` and of every range a proof names).
    """
    size = end - start
    if size & (size - 1) == 0:
        level = size.bit_length() - 1
        return [(level, start >> level)]
    nodes: list[Node] = []
    while size:
        level = size.bit_length() - 1
        nodes.append((level, start >> level))
        start += 1 << level
        size -= 1 << level
    return nodes


def inclusion_ranges(index: int, tree_size: int) -> list[tuple[int, int]]:
    """Ranges whose hashes form the inclusion proof of leaf ``index``, leaf side first.

    Follows PATH(m, D[n]) of RFC 9162 section 2.1.3.1. Requires ``0 <= index < tree_size``.
    """
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, tree_size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def inclusion_nodes(index: int, tree_size: int) -> list[list[Node]]:
    """Perfect subtrees of each inclusion-proof element of leaf ``index``, leaf side first.

    Same proof as `inclusion_ranges`, computed level by level: below the level ``inner`` where
    the paths to ``index`` and to the last leaf meet, each level holds a sibling (only the
    topmost of them can be partial, cut at ``tree_size``); above, the path runs on the right
    border and has a left sibling where ``index`` has a one bit.
    Requires ``0 <= index < tree_size``.
    """
    inner = (index ^ (tree_size - 1)).bit_length()
    groups = [[(level, (index >> level) ^ 1)] for level in range(inner)]
    if inner:
        level = inner - 1
        sibling = (index >> level) ^ 1
        if (sibling + 1) << level > tree_size:
            groups[-1] = range_nodes(sibling << level, tree_size)
    for level in range(inner, tree_size.bit_length()):
        if index >> level & 1:
            groups.append([(level, (index >> level) ^ 1)])
    return groups


def consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """Ranges whose hashes form the consistency proof from ``size1`` to ``size2``.

    Follows SUBPROOF(m, D[n], true) of RFC 9162 section 2.1.4.1; empty when
    ``size1 == 0`` or ``size1 == size2``. Requires ``0 <= size1 <= size2``.
    """
    if size1 in (0, size2):
        return []
    ranges: list[tuple[int, int]] = []
    lo, hi, whole = 0, size2, True
    while hi != size1:
        k = _split(hi - lo)
        if size1 <= lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            whole = False
    if not whole:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def inclusion_proof_length(index: int, tree_size: int) -> int:
    """Number of hashes in the inclusion proof of ``index``; requires 0 <= index < tree_size.

    Below the level where the paths to ``index`` and to the last leaf meet, every level has
    a sibling; above it, the path runs along the right border and has a (left) sibling
    exactly where ``index`` has a one bit.
    """
    inner = (index ^ (tree_size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def consistency_proof_length(size1: int, size2: int) -> int:
    """Number of hashes in the consistency proof; requires 0 <= size1 <= size2.

    The proof is the inclusion proof, in the tree seen ``level`` levels up, of the last
    perfect subtree of the old tree, preceded by that subtree's hash unless it is the whole
    old tree (``size1`` a power of two).
    """
    if size1 in (0, size2):
        return 0
    level = (size1 & -size1).bit_length() - 1
    last_old = (size1 - 1) >> level
    last_new = (size2 - 1) >> level
    own = 0 if size1 & (size1 - 1) == 0 else 1
    return own + inclusion_proof_length(last_old, last_new + 1)
