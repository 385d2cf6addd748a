"""The compact range of a log: the perfect-subtree roots that cover leaves ``[0, size)``.

Appending a leaf completes a run of perfect subtrees (as many as the trailing zero bits of
the new size); `Frontier.extend` returns, for each new leaf, its leaf hash followed by the
roots of the subtrees it completes. Concatenated over the whole log, these blobs list every
perfect-subtree hash exactly once, in post-order, which is how the SQLite store keeps them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from audit.merkle.hashing import EMPTY_ROOT, HASH_SIZE, LEAF_PREFIX, NODE_PREFIX, node_hash

__all__ = ["Frontier", "hash_position", "split_hashes"]


def hash_position(level: int, index: int) -> int:
    """Post-order position of the perfect subtree ``(level, index)`` among all stored hashes.

    The subtree is completed by leaf ``e = ((index + 1) << level) - 1``; leaves before ``e``
    contributed ``2e - popcount(e)`` hashes, and leaf ``e`` contributes its own hash and then
    one per completed level.
    """
    last = ((index + 1) << level) - 1
    return 2 * last - last.bit_count() + level


class Frontier:
    """Compact range of a log of ``size`` leaves: one root per one bit of ``size``.

    ``hashes`` run left to right (largest subtree first).
    """

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(f"a frontier of size {size} needs {size.bit_count()} hashes")
        self.size = size
        self.hashes = list(hashes)

    def copy(self) -> Frontier:
        """Return an independent copy."""
        return Frontier(self.size, self.hashes)

    def extend(self, datas: Iterable[bytes]) -> list[bytes]:
        """Append leaves; return, per leaf, its hash and the roots it completes, concatenated."""
        # Local names: this loop is the log's hot path (one lookup a hash saved).
        sha256, leaf_prefix, node_prefix = hashlib.sha256, LEAF_PREFIX, NODE_PREFIX
        stack = self.hashes
        size = self.size
        out: list[bytes] = []
        for data in datas:
            h = sha256(leaf_prefix + data).digest()
            size += 1
            if size & 1:
                stack.append(h)
                out.append(h)
                continue
            parts = [h]
            rest = size
            while not rest & 1:
                h = sha256(node_prefix + stack.pop() + h).digest()
                parts.append(h)
                rest >>= 1
            stack.append(h)
            out.append(b"".join(parts))
        self.size = size
        return out

    def root(self) -> bytes:
        """Merkle tree hash of the leaves ``[0, size)`` (RFC 9162 MTH)."""
        if not self.hashes:
            return EMPTY_ROOT
        root = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            root = node_hash(left, root)
        return root


def split_hashes(blob: bytes) -> list[bytes]:
    """Split a concatenation of hashes into a list of hashes."""
    return [blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE)]
