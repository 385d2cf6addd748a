"""`MerkleLog`: an append-only RFC 9162 Merkle tree, in memory or in an SQLite file."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from pathlib import Path
from types import TracebackType

from audit.merkle.errors import StoreError
from audit.merkle.hashing import EMPTY_ROOT, node_hash
from audit.merkle.leaf_store import LeafStore, load_frontier
from audit.merkle.memory_store import MemoryStore
from audit.merkle.proof_shape import Node, consistency_ranges, inclusion_nodes, range_nodes
from audit.merkle.sqlite_store import SqliteStore

__all__ = ["MAX_LEAF_BYTES", "MerkleLog"]

MAX_LEAF_BYTES = 16 * 1024 * 1024
"""Largest leaf the log accepts."""


def _fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from its perfect subtrees (largest first): fold from the right."""
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


class MerkleLog:
    """An append-only log whose tree head and proofs follow RFC 9162.

    Built without ``path`` it lives in memory; with ``path`` it is persisted in an SQLite file
    (created if missing) that keeps every perfect-subtree hash, so opening does not rehash the
    log and each proof costs O(log n) lookups. ``readonly=True`` opens an existing file for
    reading (many readers may follow one writer; call `refresh` to see its appends).

    A log is not safe for concurrent writers; use it from one thread at a time when writing.
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, readonly: bool = False
    ) -> None:
        if path is None:
            if readonly:
                raise StoreError("an in-memory log cannot be read-only")
            self._store: LeafStore = MemoryStore()
        else:
            self._store = SqliteStore(Path(path), readonly=readonly)
        self._frontier = load_frontier(self._store, self._store.stored_size())
        self._in_transaction = False

    @classmethod
    def from_store(cls, store: LeafStore) -> MerkleLog:
        """Wrap an already opened store (used by the run log to share one SQLite file)."""
        log = cls.__new__(cls)
        log._store = store
        log._frontier = load_frontier(store, store.stored_size())
        log._in_transaction = False
        return log

    @property
    def size(self) -> int:
        """Number of leaves in the log (including those of an open transaction)."""
        return self._frontier.size

    @property
    def store(self) -> LeafStore:
        """The storage behind this log."""
        return self._store

    def refresh(self) -> int:
        """Pick up leaves committed by another writer since opening; return the new size."""
        size = self._store.stored_size()
        if size != self._frontier.size:
            self._frontier = load_frontier(self._store, size)
        return size

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several appends (and other writes to the store) into one transaction.

        On an exception nothing of the batch remains, in the store or in memory.
        """
        if self._in_transaction:
            yield
            return
        if self._store.readonly:
            raise StoreError("the log was opened read-only")
        saved = self._frontier.copy()
        self._store.begin()
        self._in_transaction = True
        try:
            yield
            self._store.commit()
        except BaseException:
            self._store.rollback()
            self._frontier = saved
            raise
        finally:
            self._in_transaction = False

    def append(self, data: bytes) -> int:
        """Append one leaf; return its index."""
        return self.extend((data,))

    def extend(self, datas: Iterable[bytes]) -> int:
        """Append leaves in one transaction; return the index of the first.

        Requires each leaf to be bytes of at most `MAX_LEAF_BYTES`.
        """
        batch = list(datas)
        if not all(map(isinstance, batch, repeat(bytes))) or (
            batch and max(map(len, batch)) > MAX_LEAF_BYTES
        ):
            for position, data in enumerate(batch):
                if not isinstance(data, bytes):
                    raise TypeError(
                        f"leaf {position} of the batch is {type(data).__name__}, not bytes"
                    )
                if len(data) > MAX_LEAF_BYTES:
                    raise ValueError(
                        f"leaf {position} of the batch has {len(data)} bytes, "
                        f"more than {MAX_LEAF_BYTES}"
                    )
        first = self._frontier.size
        if not batch:
            return first
        with self.transaction():
            hashes = self._frontier.extend(batch)
            self._store.write(first, batch, hashes)
        return first

    def root(self, tree_size: int | None = None) -> bytes:
        """Root hash of the first ``tree_size`` leaves (default: all).

        Requires ``0 <= tree_size <= size``.
        """
        tree_size = self._check_size(tree_size)
        if tree_size == self._frontier.size:
            return self._frontier.root()
        if tree_size == 0:
            return EMPTY_ROOT
        return _fold(self._store.node_hashes(range_nodes(0, tree_size)))

    def leaf(self, index: int) -> bytes:
        """Bytes of leaf ``index``; requires ``0 <= index < size``."""
        if not 0 <= index < self._frontier.size:
            raise IndexError(f"leaf index {index} is outside a log of size {self.size}")
        return self._store.leaves(index, index + 1)[0]

    def leaves(self, start: int, end: int) -> list[bytes]:
        """Bytes of leaves ``[start, end)``; requires ``0 <= start <= end <= size``."""
        if not 0 <= start <= end <= self._frontier.size:
            raise IndexError(f"leaf range {start}..{end} is outside a log of size {self.size}")
        return self._store.leaves(start, end)

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> list[bytes]:
        """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``tree_size`` leaves.

        Requires ``0 <= index < tree_size <= size`` (``tree_size`` defaults to ``size``).
        """
        tree_size = self._check_size(tree_size)
        if not 0 <= index < tree_size:
            raise IndexError(f"leaf index {index} is outside a tree of size {tree_size}")
        return self._group_hashes(inclusion_nodes(index, tree_size))

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """RFC 9162 consistency proof from the tree of ``size1`` leaves to ``size2``.

        Requires ``0 <= size1 <= size2 <= size`` (``size2`` defaults to ``size``); empty when
        ``size1`` is 0 or equals ``size2``.
        """
        size2 = self._check_size(size2)
        if not 0 <= size1 <= size2:
            raise ValueError(f"tree sizes {size1} -> {size2} are not in append order")
        return self._group_hashes(
            [range_nodes(start, end) for start, end in consistency_ranges(size1, size2)]
        )

    def close(self) -> None:
        """Release the storage; the log must not be used afterwards."""
        self._store.close()

    def __enter__(self) -> MerkleLog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _check_size(self, tree_size: int | None) -> int:
        if tree_size is None:
            return self._frontier.size
        if not 0 <= tree_size <= self._frontier.size:
            raise ValueError(f"tree size {tree_size} is outside 0..{self._frontier.size}")
        return tree_size

    def _group_hashes(self, groups: Sequence[Sequence[Node]]) -> list[bytes]:
        nodes: list[Node] = [node for group in groups for node in group]
        hashes = self._store.node_hashes(nodes)
        if len(nodes) == len(groups):
            return hashes
        out: list[bytes] = []
        at = 0
        for group in groups:
            out.append(_fold(hashes[at : at + len(group)]))
            at += len(group)
        return out
