"""SQLite schema of the audit log store: append-only tables guarded by triggers.

Table ``leaves`` holds runs of consecutive leaves (at most `RUN_LEAVES` a row, cut at
multiples of `RUN_LEAVES` and at `RUN_BYTES` of data). Table ``hashes`` has one row per run,
keyed by the same ``start``: column ``hashes`` lists, for each leaf of the run, its leaf hash
followed by the root of every perfect subtree that the leaf completes, and ``hash_position``
is the post-order position of the run's first hash (see
`audit.merkle.compact_range.hash_position`).
Every perfect-subtree hash ``(level, index)`` is thus stored exactly once and found with one
index seek in a table whose rows fit in one page, apart from the leaves' bytes.

Notes:
    The triggers stop accidents and honest code, not an attacker who holds the file: such an
    attacker can drop them. The verifier therefore recomputes every stored hash from the
    leaves and checks the signed checkpoints; the triggers are not a security boundary.
"""

from __future__ import annotations

__all__ = ["RUN_BYTES", "RUN_LEAVES", "SCHEMA_VERSION", "TABLES", "schema_sql"]

SCHEMA_VERSION = "fedinsight-audit-log/1"
RUN_LEAVES = 32
RUN_BYTES = 64 * 1024
TABLES = ("meta", "leaves", "hashes", "checkpoints", "cosignatures")

_TABLES_SQL = f"""
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
CREATE TABLE leaves (
    start INTEGER PRIMARY KEY CHECK (start >= 0),
    count INTEGER NOT NULL CHECK (count BETWEEN 1 AND {RUN_LEAVES}),
    ends BLOB NOT NULL,
    data BLOB NOT NULL
) STRICT;
CREATE TABLE hashes (
    start INTEGER PRIMARY KEY REFERENCES leaves (start),
    hash_position INTEGER NOT NULL,
    hashes BLOB NOT NULL
) STRICT;
CREATE TABLE checkpoints (
    tree_size INTEGER PRIMARY KEY CHECK (tree_size >= 0),
    note TEXT NOT NULL
) STRICT;
CREATE TABLE cosignatures (
    tree_size INTEGER NOT NULL REFERENCES checkpoints (tree_size),
    cosigner TEXT NOT NULL,
    key_id INTEGER NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (tree_size, cosigner, key_id)
) STRICT;
CREATE TRIGGER leaves_contiguous BEFORE INSERT ON leaves
WHEN NEW.start != COALESCE((SELECT start + count FROM leaves ORDER BY start DESC LIMIT 1), 0)
BEGIN SELECT RAISE(ABORT, 'audit log: leaves must be appended contiguously'); END;
CREATE TRIGGER checkpoints_grow BEFORE INSERT ON checkpoints
WHEN NEW.tree_size <= COALESCE((SELECT MAX(tree_size) FROM checkpoints), -1)
  OR NEW.tree_size > COALESCE((SELECT start + count FROM leaves ORDER BY start DESC LIMIT 1), 0)
BEGIN SELECT RAISE(ABORT, 'audit log: checkpoint sizes must grow and stay within the log'); END;
"""


def _guard(table: str) -> str:
    return "".join(
        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} BEGIN "
        f"SELECT RAISE(ABORT, 'audit log is append-only: {verb} on {table} refused'); END;\n"
        for verb in ("UPDATE", "DELETE")
    )


def schema_sql() -> str:
    """The statements that create an empty store."""
    return _TABLES_SQL + "".join(_guard(table) for table in TABLES)
