"""Rebuild a stored log from its leaves alone and compare every stored hash on the way."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from audit.merkle.compact_range import Frontier
from audit.merkle.errors import StoreError, VerificationError
from audit.merkle.hashing import HASH_SIZE
from audit.merkle.sqlite_store import LeafRun, SqliteStore

__all__ = ["Recomputed", "recompute_store"]


@dataclass(frozen=True)
class Recomputed:
    """What the leaves alone say: the size, the root, and the root at each asked size."""

    tree_size: int
    root: bytes
    roots: dict[int, bytes] = field(default_factory=dict)


def _compare(run: LeafRun, stored_hashes: bytes, blobs: list[bytes]) -> None:
    computed = b"".join(blobs)
    if computed == stored_hashes:
        return
    offset = 0
    for position, blob in enumerate(blobs):
        stored = stored_hashes[offset : offset + len(blob)]
        if stored != blob:
            for level in range(len(blob) // HASH_SIZE):
                part = slice(level * HASH_SIZE, (level + 1) * HASH_SIZE)
                if stored[part] != blob[part]:
                    raise VerificationError(
                        f"stored hash of level {level} completed by leaf {run.start + position}"
                        " differs from the hash recomputed from the leaves",
                        expected=blob[part],
                        computed=stored[part] or None,
                    )
        offset += len(blob)
    raise VerificationError(
        f"leaf run at {run.start} stores extra hash bytes",
        expected=len(computed),
        computed=len(stored_hashes),
    )


def recompute_store(
    store: SqliteStore,
    sizes: Iterable[int] = (),
    on_leaf: Callable[[int, bytes], None] | None = None,
) -> Recomputed:
    """Hash every leaf, rebuild every perfect subtree and check each against the store.

    Also returns the root at each of ``sizes`` (sizes beyond the log are left out), and
    calls ``on_leaf(index, data)`` for each leaf in order.

    Raises:
        VerificationError: a run out of place, a malformed run, or a stored hash that differs.
    """
    frontier = Frontier()
    pending = sorted(set(sizes))
    roots: dict[int, bytes] = {}
    while pending and pending[0] == 0:
        roots[pending.pop(0)] = frontier.root()
    runs = 0
    for run in store.iter_runs():
        runs += 1
        stored = run.hashes
        if stored is None or run.hash_position is None:
            raise VerificationError(f"leaf run at {run.start} has no row in table hashes")
        if run.start != frontier.size:
            raise VerificationError(
                "leaf runs are not contiguous", expected=frontier.size, computed=run.start
            )
        expected_position = 2 * run.start - run.start.bit_count()
        if run.hash_position != expected_position:
            raise VerificationError(
                f"leaf run at {run.start} has a wrong hash position",
                expected=expected_position,
                computed=run.hash_position,
            )
        try:
            datas = run.datas()
        except StoreError as exc:
            raise VerificationError(str(exc)) from exc
        blobs: list[bytes] = []
        taken = 0
        while pending and pending[0] <= run.start + len(datas):
            cut = pending.pop(0) - run.start
            blobs += frontier.extend(datas[taken:cut])
            roots[frontier.size] = frontier.root()
            taken = cut
        blobs += frontier.extend(datas[taken:])
        _compare(run, stored, blobs)
        if on_leaf is not None:
            for offset, data in enumerate(datas):
                on_leaf(run.start + offset, data)
    hash_rows = store.table_rows("hashes")
    if hash_rows != runs:
        raise VerificationError(
            "table hashes has rows for runs that do not exist", expected=runs, computed=hash_rows
        )
    return Recomputed(frontier.size, frontier.root(), roots)
