"""`MemoryStore`: the `LeafStore` of a log that lives in memory only."""

from __future__ import annotations

from collections.abc import Sequence

from audit.merkle.errors import StoreError
from audit.merkle.hashing import HASH_SIZE
from audit.merkle.proof_shape import Node

__all__ = ["MemoryStore"]


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
