"""The persisted `LeafStore`: one SQLite file in WAL mode, append-only.

Each `write` inserts whole runs of leaves; the caller (`MerkleLog`) wraps a batch in one
transaction, so a process killed mid-append leaves the log at its last committed size.
"""

from __future__ import annotations

import sqlite3
import struct
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from itertools import accumulate
from pathlib import Path
from typing import NamedTuple

from audit.merkle.errors import StoreError
from audit.merkle.hashing import HASH_SIZE
from audit.merkle.proof_shape import Node
from audit.merkle.sqlite_schema import RUN_BYTES, RUN_LEAVES, SCHEMA_VERSION, TABLES, schema_sql

__all__ = ["LeafRun", "SqliteStore"]

_NODE_SQL = (
    "WITH q(pos, last) AS (VALUES {values}) SELECT q.pos, (SELECT substr(hashes, "
    f"(q.pos - hash_position) * {HASH_SIZE} + 1, {HASH_SIZE}) FROM hashes "
    "WHERE start <= q.last ORDER BY start DESC LIMIT 1) FROM q"
)
_LEAVES_SQL = (
    "SELECT start, count, ends, data FROM leaves WHERE start >= COALESCE((SELECT start FROM "
    "leaves WHERE start <= ? ORDER BY start DESC LIMIT 1), 0) AND start < ? ORDER BY start"
)
_SIZE_SQL = "SELECT start + count FROM leaves ORDER BY start DESC LIMIT 1"
_MAX_NODES_A_QUERY = 400
_CACHED_LEVEL = 6
_CACHE_LIMIT = 1 << 16


class LeafRun(NamedTuple):
    """A run of consecutive leaves (table ``leaves``) with its hashes (table ``hashes``)."""

    start: int
    length: int
    hash_position: int | None
    hashes: bytes | None
    ends: bytes
    data: bytes

    def datas(self) -> list[bytes]:
        """The run's leaves, split at ``ends`` (big-endian uint32 end offsets)."""
        if len(self.ends) != 4 * self.length:
            raise StoreError(
                f"leaf run at {self.start}: {len(self.ends)} bytes of offsets "
                f"for {self.length} leaves"
            )
        ends = struct.unpack(f">{self.length}I", self.ends)
        if ends[-1] != len(self.data):
            raise StoreError(f"leaf run at {self.start}: offsets do not cover its data")
        begins = (0, *ends[:-1])
        return [self.data[b:e] for b, e in zip(begins, ends, strict=True)]


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    if readonly:
        if not path.is_file():
            raise StoreError(f"{path}: no audit log store here")
        uri = path.resolve().as_uri() + "?mode=ro"
        return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # Takes effect only when the file is created: a run of 32 short leaves and its hashes
    # row then share pages with their neighbours instead of half-filling 4 KiB pages.
    conn.execute("PRAGMA page_size=8192")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def _tune(conn: sqlite3.Connection) -> None:
    # Proofs touch O(log n) pages spread over the file; keep them cached between proofs.
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA mmap_size=268435456")
    conn.execute("PRAGMA foreign_keys=ON")


class SqliteStore:
    """Leaves and perfect-subtree hashes in an SQLite file (see `audit.merkle.sqlite_schema`).

    Requires a single writer; any number of read-only openers may read concurrently (WAL).
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._cache: dict[int, bytes] = {}
        try:
            self.connection = _connect(self.path, readonly)
            _tune(self.connection)
            tables = {
                row[0]
                for row in self.connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
            }
            if not tables and not readonly:
                self.connection.executescript(
                    "BEGIN;"
                    + schema_sql()
                    + f"INSERT INTO meta VALUES ('schema', '{SCHEMA_VERSION}'); COMMIT;"
                )
            elif self.meta("schema") != SCHEMA_VERSION:
                raise StoreError(f"{self.path}: not a {SCHEMA_VERSION} store")
            elif not set(TABLES) <= tables:
                missing = ", ".join(sorted(set(TABLES) - tables))
                raise StoreError(f"{self.path}: table {missing} is missing")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot open the audit log store: {exc}") from exc

    def meta(self, key: str) -> str | None:
        """Value stored under ``key`` in table ``meta``, or None."""
        try:
            row = self.connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot read table meta: {exc}") from exc
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Record ``key`` once; a second value for the same key is refused."""
        self._execute("INSERT INTO meta VALUES (?, ?)", (key, value))

    def stored_size(self) -> int:
        row = self.connection.execute(_SIZE_SQL).fetchone()
        return 0 if row is None else int(row[0])

    def write(self, start: int, datas: Sequence[bytes], hashes: Sequence[bytes]) -> None:
        rows: list[tuple[int, int, bytes, bytes]] = []
        hash_rows: list[tuple[int, int, bytes]] = []
        i, n = 0, len(datas)
        while i < n:
            first = start + i
            limit = min(n, i + RUN_LEAVES - first % RUN_LEAVES)
            ends = list(accumulate(map(len, datas[i:limit])))
            if ends[-1] > RUN_BYTES:
                del ends[bisect_left(ends, RUN_BYTES) + 1 :]
            j = i + len(ends)
            rows.append((first, j - i, struct.pack(f">{j - i}I", *ends), b"".join(datas[i:j])))
            hash_rows.append((first, 2 * first - first.bit_count(), b"".join(hashes[i:j])))
            i = j
        self._executemany("INSERT INTO leaves VALUES (?, ?, ?, ?)", rows)
        self._executemany("INSERT INTO hashes VALUES (?, ?, ?)", hash_rows)

    def node_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        cache = self._cache
        positions: list[int] = []
        params: list[int] = []
        for level, index in nodes:
            last = ((index + 1) << level) - 1
            position = 2 * last - last.bit_count() + level
            positions.append(position)
            if position not in cache:
                params += (position, last)
        found: dict[int, bytes] = {}
        for at in range(0, len(params), 2 * _MAX_NODES_A_QUERY):
            chunk = params[at : at + 2 * _MAX_NODES_A_QUERY]
            sql = _NODE_SQL.format(values=",".join(["(?,?)"] * (len(chunk) // 2)))
            for position, value in self.connection.execute(sql, chunk):
                if not isinstance(value, bytes) or len(value) != HASH_SIZE:
                    raise StoreError(
                        f"{self.path}: no stored hash at post-order position {position}"
                    )
                found[position] = value
        try:
            out = [cache[p] if p in cache else found[p] for p in positions]
        except KeyError as exc:
            raise StoreError(f"{self.path}: no stored hash at post-order position {exc}") from None
        if found and not self.connection.in_transaction:
            # Committed subtree hashes never change, so the few large ones shared by many
            # proofs are kept; hashes read inside a transaction could still be rolled back.
            if len(cache) > _CACHE_LIMIT:
                cache.clear()
            for (level, _), position in zip(nodes, positions, strict=True):
                if level >= _CACHED_LEVEL and position in found:
                    cache[position] = found[position]
        return out

    def leaves(self, start: int, end: int) -> list[bytes]:
        if start >= end:
            return []
        out: list[bytes] = []
        for row in self.connection.execute(_LEAVES_SQL, (start, end)):
            run = LeafRun(row[0], row[1], None, None, row[2], row[3])
            datas = run.datas()
            out.extend(datas[max(start - run.start, 0) : end - run.start])
        if len(out) != end - start:
            raise StoreError(f"{self.path}: leaves {start}..{end} are not all stored")
        return out

    def iter_runs(self) -> Iterator[LeafRun]:
        """Every run in leaf order (hash columns None where a ``hashes`` row is missing)."""
        for row in self.connection.execute(
            "SELECT start, count, hash_position, hashes, ends, data FROM leaves "
            "LEFT JOIN hashes USING (start) ORDER BY start"
        ):
            yield LeafRun(*row)

    def table_rows(self, table: str) -> int:
        """Number of rows of one of the store's tables."""
        if table not in TABLES:
            raise StoreError(f"no table {table} in an audit log store")
        return int(self.connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def begin(self) -> None:
        self._execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._execute("COMMIT")

    def rollback(self) -> None:
        if self.connection.in_transaction:
            self.connection.execute("ROLLBACK")

    def close(self) -> None:
        self.connection.close()

    def _execute(self, sql: str, params: Sequence[object] = ()) -> None:
        self._check_writable()
        try:
            self.connection.execute(sql, params)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    def _executemany(self, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
        self._check_writable()
        try:
            self.connection.executemany(sql, rows)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    def _check_writable(self) -> None:
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only")
