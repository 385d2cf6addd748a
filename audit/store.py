"""What a Merkle log needs from its storage, and the in-memory implementation.

A store keeps the leaves' bytes and the hash of every perfect subtree, addressed by
``(level, index)``, so that any proof is read in O(log n) lookups and nothing is rehashed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from audit.compact import Frontier
from audit.errors import StoreError
from audit.geometry import Node, range_nodes
from audit.hashing import HASH_SIZE

__all__ = ["LeafStore", "MemoryStore", "load_frontier"]


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


class MemoryStore:
    """A `LeafStore` in lists: ``levels[level][index]`` is a perfect-subtree hash."""

    readonly = False

    def __init__(self) -> None:
        self._datas: list[bytes] = []
        self._levels: list[list[bytes]] = []
        self._mark: list[int] | None = None

    def stored_size(self) -> int:
        return len(self._datas)

    def write(self, start: int, datas: Sequence[bytes], hashes: Sequence[bytes]) -> None:
        if start != len(self._datas):
            raise StoreError(f"leaves must be appended at {len(self._datas)}, not at {start}")
        levels = self._levels
        if not levels:
            levels.append([])
        bottom = levels[0]
        for blob in hashes:
            if len(blob) == HASH_SIZE:
                bottom.append(blob)
                continue
            for level in range(len(blob) // HASH_SIZE):
                if level == len(levels):
                    levels.append([])
                levels[level].append(blob[level * HASH_SIZE : (level + 1) * HASH_SIZE])
        self._datas.extend(datas)

    def node_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        try:
            return [self._levels[level][index] for level, index in nodes]
        except IndexError:
            raise StoreError("asked for a subtree that is not complete yet") from None

    def leaves(self, start: int, end: int) -> list[bytes]:
        return self._datas[start:end]

    def begin(self) -> None:
        self._mark = [len(self._datas)] + [len(level) for level in self._levels]

    def commit(self) -> None:
        self._mark = None

    def rollback(self) -> None:
        if self._mark is None:
            return
        del self._datas[self._mark[0] :]
        for level, keep in enumerate(self._mark[1:]):
            del self._levels[level][keep:]
        del self._levels[len(self._mark) - 1 :]
        self._mark = None

    def close(self) -> None:
        """Nothing to release."""
