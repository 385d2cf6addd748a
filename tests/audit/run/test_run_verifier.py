"""The offline verifier: a good run passes; any altered row, any broken rule fails."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from audit import (
    BudgetError,
    Checkpoint,
    MerkleLog,
    NoteSignature,
    RootMismatchError,
    SignedCheckpoint,
    SignedNote,
    VerificationError,
    encode_record,
    verify_run_dir,
)
from audit.merkle import RUN_LEAVES, CheckpointStore, SqliteStore
from audit.run import audit_paths, canonical_json
from tests.audit.runs import a_round, drop_guards, make_run, sha


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("pristine") / "run", rounds=3).run_dir


def test_a_good_run_verifies_with_its_model(pristine: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"model 3")
    report = verify_run_dir(pristine, model_path=model)

    assert (report.rounds, report.ended, report.checkpoints, report.cosignatures) == (
        3,
        True,
        5,
        10,
    )
    assert report.epsilon_cumulative == {"hospital-a": 1.5, "retailer-b": 1.5}
    assert report.model_checked


def test_model_file_hash_must_be_the_final_model_hash(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", rounds=1)
    model = tmp_path / "model.bin"
    model.write_bytes(b"other weights")

    with pytest.raises(VerificationError, match="SHA-256") as caught:
        verify_run_dir(run.run_dir, model_path=model)
    assert caught.value.expected == sha("model 1")


def _mutations(path: Path) -> list[tuple[str, str, str, Any, Any]]:
    """(table, column, key column, key, mutated value) for every cell of every row."""
    keys = {
        "meta": "key",
        "leaves": "start",
        "hashes": "start",
        "checkpoints": "tree_size",
        "cosignatures": "line",
    }
    conn = sqlite3.connect(path)
    out = []
    for table, key in keys.items():
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        for row in conn.execute(f"SELECT * FROM {table}").fetchall():
            cells = dict(zip(columns, row, strict=True))
            for column, value in cells.items():
                if isinstance(value, int):
                    changed: Any = value % RUN_LEAVES + 1 if column == "count" else value + 1000
                elif isinstance(value, bytes):
                    flipped = bytearray(value)
                    flipped[len(value) // 2] ^= 0x01
                    changed = bytes(flipped)
                else:
                    middle = len(value) // 2
                    changed = value[:middle] + chr(ord(value[middle]) ^ 0x01) + value[middle + 1 :]
                out.append((table, column, key, cells[key], changed))
    conn.close()
    return out


def test_altering_any_cell_of_any_row_makes_verification_fail(
    pristine: Path, tmp_path: Path
) -> None:
    log_path, _ = audit_paths(pristine)
    accepted = []
    mutations = _mutations(log_path)
    for n, (table, column, key, value, changed) in enumerate(mutations):
        copy = tmp_path / f"copy{n}"
        shutil.copytree(pristine, copy)
        conn = sqlite3.connect(audit_paths(copy)[0])
        drop_guards(conn)
        conn.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (changed, value))
        conn.commit()
        conn.close()
        try:
            verify_run_dir(copy)
        except VerificationError:
            pass
        else:
            accepted.append(f"{table}.{column} of row {value!r}")
        shutil.rmtree(copy)

    assert len(mutations) > 60
    assert accepted == []


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM leaves WHERE start = (SELECT MAX(start) FROM leaves)",
        "DELETE FROM hashes WHERE start = 2",
        "INSERT INTO hashes VALUES (99, 198, x'00')",
        "DELETE FROM checkpoints WHERE tree_size = 3",
        "DROP TABLE cosignatures",
    ],
)
def test_removing_rows_makes_verification_fail(
    pristine: Path, tmp_path: Path, statement: str
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(pristine, copy)
    conn = sqlite3.connect(audit_paths(copy)[0])
    drop_guards(conn)
    conn.execute(statement)
    conn.commit()
    conn.close()

    with pytest.raises(VerificationError):
        verify_run_dir(copy)


def _append_signed(run_dir: Path, record: dict[str, Any], key: Any) -> None:
    """What a dishonest coordinator holding the key could write, bypassing validation."""
    store = SqliteStore(audit_paths(run_dir)[0])
    log, checkpoints = MerkleLog.from_store(store), CheckpointStore(store)
    with log.transaction():
        log.append(canonical_json(record))
        text = Checkpoint(key.name, log.size, log.root()).text
        checkpoints.add(
            SignedCheckpoint(
                Checkpoint.from_text(text), SignedNote(text, (NoteSignature.create(text, key),))
            )
        )
    store.close()


def test_a_signed_record_over_budget_is_caught(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", rounds=1, end=False)
    greedy = a_round(2, list(run.witness_keys))
    greedy["epsilon_budget"] = {p: 0.7 for p in run.witness_keys}
    greedy["epsilon_cumulative"] = {p: 1.0 for p in run.witness_keys}
    _append_signed(run.run_dir, greedy, run.coordinator)

    with pytest.raises(VerificationError, match="leaf 2"):
        verify_run_dir(run.run_dir)


def test_a_signed_budget_increase_is_caught_as_budget_error(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", rounds=1, end=False)
    raised = a_round(2, list(run.witness_keys), budget=40.0)
    encode_record(raised)
    _append_signed(run.run_dir, raised, run.coordinator)

    with pytest.raises(BudgetError, match="leaf 2: round 2: epsilon budget"):
        verify_run_dir(run.run_dir)


def test_a_skipped_round_is_caught(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", rounds=1, end=False)
    _append_signed(run.run_dir, a_round(3, list(run.witness_keys)), run.coordinator)

    with pytest.raises(VerificationError, match="consecutive"):
        verify_run_dir(run.run_dir)


def test_a_signed_checkpoint_over_another_root_is_a_root_mismatch(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", rounds=1, end=False)
    true_root = verify_run_dir(run.run_dir).root
    forged = Checkpoint(run.coordinator.name, 2, b"\x07" * 32).text
    note = SignedNote(forged, (NoteSignature.create(forged, run.coordinator),))
    conn = sqlite3.connect(audit_paths(run.run_dir)[0])
    drop_guards(conn)
    conn.execute("UPDATE checkpoints SET note = ? WHERE tree_size = 2", (note.format(),))
    conn.commit()
    conn.close()

    with pytest.raises(RootMismatchError, match="checkpoint 2: signed root") as caught:
        verify_run_dir(run.run_dir)
    assert (caught.value.expected, caught.value.computed) == (b"\x07" * 32, true_root)


def test_a_foreign_coordinator_key_is_refused(pristine: Path) -> None:
    from audit import NoteSigner

    with pytest.raises(VerificationError, match="checkpoint 1"):
        verify_run_dir(pristine, coordinator_key=NoteSigner.generate("x.test/y").verifier)


def test_a_missing_run_dir_fails_cleanly(tmp_path: Path) -> None:
    with pytest.raises(VerificationError):
        verify_run_dir(tmp_path / "nothing")
