"""The SQLite store: same tree as in memory, append-only, proofs from disk, cold open."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import MerkleLog, StoreError, leaf_hash, verify_inclusion
from audit.merkle import RUN_BYTES, RUN_LEAVES, Frontier


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.binary(max_size=40), max_size=70), max_size=6))
def test_persisted_log_has_the_in_memory_roots_and_proofs(batches: list[list[bytes]]) -> None:
    memory = MerkleLog()
    with tempfile.TemporaryDirectory() as folder:
        disk = MerkleLog(Path(folder) / "log.sqlite")
        for batch in batches:
            assert disk.extend(batch) == memory.extend(batch)
        disk.close()
        reopened = MerkleLog(Path(folder) / "log.sqlite")

        assert reopened.size == memory.size
        for size in range(memory.size + 1):
            assert reopened.root(size) == memory.root(size)
        for index in range(0, memory.size, 7):
            assert reopened.inclusion_proof(index) == memory.inclusion_proof(index)
            assert reopened.leaf(index) == memory.leaf(index)
        for size1 in range(0, memory.size + 1, 5):
            assert reopened.consistency_proof(size1) == memory.consistency_proof(size1)
        reopened.close()


def test_runs_are_cut_at_leaf_count_and_data_size(tmp_path: Path) -> None:
    big = b"x" * (RUN_BYTES // 2 + 1)
    log = MerkleLog(tmp_path / "log.sqlite")
    log.extend([b"a"] * (RUN_LEAVES + 3) + [big, big, big, b"z"])
    rows = log.store.connection.execute(  # type: ignore[attr-defined]
        "SELECT start, count FROM leaves ORDER BY start"
    ).fetchall()

    assert rows[0] == (0, RUN_LEAVES)
    assert rows[1][0] == RUN_LEAVES
    assert all(count <= RUN_LEAVES for _, count in rows)
    assert log.leaves(RUN_LEAVES + 3, RUN_LEAVES + 7) == [big, big, big, b"z"]


def test_cold_open_reads_the_frontier_without_rehashing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = MerkleLog(tmp_path / "log.sqlite")
    log.extend(b"%d" % i for i in range(1000))
    root = log.root()
    log.close()

    def refuse(self: Frontier, datas: object) -> list[bytes]:
        raise AssertionError("opening the log rehashed leaves")

    monkeypatch.setattr(Frontier, "extend", refuse)
    reopened = MerkleLog(tmp_path / "log.sqlite")

    assert reopened.size == 1000
    assert reopened.root() == root
    verify_inclusion(leaf_hash(b"999"), 999, 1000, reopened.inclusion_proof(999), root)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE leaves SET data = x'00'",
        "UPDATE hashes SET hashes = x'00'",
        "DELETE FROM hashes",
        "DELETE FROM leaves",
        "UPDATE meta SET value = 'other'",
        "DELETE FROM meta",
        "INSERT INTO leaves VALUES (99, 1, x'', x'')",
    ],
)
def test_store_refuses_to_change_written_rows(tmp_path: Path, statement: str) -> None:
    log = MerkleLog(tmp_path / "log.sqlite")
    log.extend([b"a", b"b", b"c"])
    log.close()
    conn = sqlite3.connect(tmp_path / "log.sqlite")

    with pytest.raises(sqlite3.DatabaseError, match="audit log"):
        conn.execute(statement)


def test_failed_batch_leaves_no_trace(tmp_path: Path) -> None:
    log = MerkleLog(tmp_path / "log.sqlite")
    log.extend([b"a", b"b"])
    root = log.root()

    with pytest.raises(RuntimeError), log.transaction():
        log.extend([b"c", b"d"])
        raise RuntimeError("crash inside the batch")

    assert (log.size, log.root()) == (2, root)
    log.close()
    assert MerkleLog(tmp_path / "log.sqlite").size == 2


def test_readonly_log_refuses_writes_and_sees_new_appends(tmp_path: Path) -> None:
    writer = MerkleLog(tmp_path / "log.sqlite")
    writer.extend([b"a"])
    reader = MerkleLog(tmp_path / "log.sqlite", readonly=True)

    with pytest.raises(StoreError, match="read-only"):
        reader.append(b"b")
    writer.extend([b"b", b"c"])
    assert reader.refresh() == 3
    assert reader.root() == writer.root()


def test_opening_a_foreign_file_fails_with_store_error(tmp_path: Path) -> None:
    (tmp_path / "log.sqlite").write_bytes(b"not a database at all" * 100)

    with pytest.raises(StoreError, match="cannot open"):
        MerkleLog(tmp_path / "log.sqlite")


def test_leaves_must_be_bytes_and_requests_in_range() -> None:
    log = MerkleLog()
    log.extend([b"a", b"b"])

    with pytest.raises(TypeError):
        log.append("text")  # type: ignore[arg-type]
    with pytest.raises(IndexError):
        log.inclusion_proof(2, 2)
    with pytest.raises(ValueError, match="outside"):
        log.root(3)
    with pytest.raises(ValueError, match="append order"):
        log.consistency_proof(2, 1)


def test_oversized_leaves_are_refused_whole_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("audit.merkle.merkle_log.MAX_LEAF_BYTES", 4)
    log = MerkleLog()

    with pytest.raises(ValueError, match="leaf 1 of the batch has 5 bytes"):
        log.extend([b"ok", b"12345"])
    assert log.size == 0


def test_hashes_read_inside_a_rolled_back_batch_are_not_reused(tmp_path: Path) -> None:
    log = MerkleLog(tmp_path / "log.sqlite")
    log.extend(b"%d" % i for i in range(100))
    with pytest.raises(RuntimeError), log.transaction():
        log.extend(b"gone %d" % i for i in range(200))
        log.inclusion_proof(0, 300)
        raise RuntimeError("abandon the batch")
    log.extend(b"kept %d" % i for i in range(200))
    expected = MerkleLog()
    expected.extend([b"%d" % i for i in range(100)] + [b"kept %d" % i for i in range(200)])

    assert log.inclusion_proof(0, 300) == expected.inclusion_proof(0, 300)
    assert log.root(256) == expected.root(256)
