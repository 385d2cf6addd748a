"""What a Merkle log needs from its storage (`LeafStore`), and how it reopens a log.

A store keeps the leaves' bytes and the hash of every perfect subtree, addressed by
``(level, index)``, so that any proof is read in O(log n) lookups and nothing is rehashed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from audit.merkle.compact_range import Frontier
from audit.merkle.proof_shape import Node, range_nodes

__all__ = ["LeafStore", "load_frontier"]


class LeafStore(Protocol):
    """Storage behind a `MerkleLog`: leaves, perfect-subtree hashes and transactions."""

    readonly: bool

    def stored_size(self) -> int:
        """Number of leaves committed (or written in the open transaction)."""
        ...

    def write(self, start: int, datas: Sequence[bytes], hashes: Sequence[bytes]) -> None:
        """Store leaves ``start, start + 1, ...``; ``hashes[i]`` is what
        `Frontier.extend` returned for ``datas[i]``. Requires ``start == stored_size()``."""
        ...

    def node_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        """Hashes of the given complete perfect subtrees, in the order asked."""
        ...

    def leaves(self, start: int, end: int) -> list[bytes]:
        """Bytes of leaves ``[start, end)``; requires 0 <= start <= end <= stored_size()."""
        ...

    def begin(self) -> None:
        """Open a write transaction."""
        ...

    def commit(self) -> None:
        """Make the open transaction's writes durable."""
        ...

    def rollback(self) -> None:
        """Discard the open transaction's writes."""
        ...

    def close(self) -> None:
        """Release the storage."""
        ...


def load_frontier(store: LeafStore, size: int) -> Frontier:
    """Read the compact range of the first ``size`` leaves from ``store``: O(log size)."""
    if size == 0:
        return Frontier()
    return Frontier(size, store.node_hashes(range_nodes(0, size)))
