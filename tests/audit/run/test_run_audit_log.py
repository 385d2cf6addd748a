"""The coordinator's run log: records in, signed and cosigned checkpoints out."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from audit import (
    COSIGNATURE_V1,
    Checkpoint,
    CheckpointError,
    NoteSignature,
    NoteSigner,
    RecordError,
    RunAuditLog,
    SignatureError,
    SignedNote,
    StoreError,
    audit_paths,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from tests.audit.runs import a_round, drop_guards, make_run, start_record


def test_each_record_gets_a_signed_checkpoint_covering_it(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", rounds=2)
    with RunAuditLog.open(run.run_dir, run.coordinator) as log:
        latest = log.latest_checkpoint()
        assert latest is not None
        sizes = [log.checkpoint(size).tree_size for size in range(1, log.size + 1)]

        assert sizes == [1, 2, 3, 4]
        latest.note.verify(run.coordinator.verifier)
        assert len(latest.note.signatures) == 3
        verify_inclusion(
            leaf_hash(log.log.leaf(2)),
            2,
            latest.tree_size,
            log.log.inclusion_proof(2, latest.tree_size),
            latest.root,
        )
        verify_consistency(2, 4, log.consistency_proof_for(2), log.checkpoint(2).root, latest.root)


def test_run_dir_layout_holds_log_and_coordinator_key(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", rounds=1)
    log_path, vkey_path = audit_paths(run.run_dir)

    assert log_path == run.run_dir / "audit" / "log.sqlite"
    assert vkey_path.read_text().strip() == run.coordinator.verifier.vkey


def test_create_refuses_an_existing_log_and_open_a_foreign_key(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", rounds=1)

    with pytest.raises(StoreError, match="already exists"):
        RunAuditLog.create(run.run_dir, run.coordinator)
    with pytest.raises(SignatureError):
        RunAuditLog.open(run.run_dir, NoteSigner.generate(run.coordinator.name))


def test_invalid_or_out_of_order_records_are_not_appended(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", rounds=1, end=False)
    with RunAuditLog.open(run.run_dir, run.coordinator) as log:
        with pytest.raises(RecordError):
            log.append_record(a_round(3, list(run.witness_keys)))
        with pytest.raises(RecordError):
            log.append_record({**a_round(2, list(run.witness_keys)), "extra": 1})

        assert log.size == 2
        log.append_record(a_round(2, list(run.witness_keys)))
        assert log.size == 3


def test_log_refuses_to_sign_a_head_inconsistent_with_its_last_checkpoint(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", rounds=1, end=False)
    log_path, _ = audit_paths(run.run_dir)
    fake = Checkpoint(run.coordinator.name, 2, b"\x07" * 32).text
    note = SignedNote(fake, (NoteSignature.create(fake, run.coordinator),))
    conn = sqlite3.connect(log_path)
    drop_guards(conn)
    conn.execute("DELETE FROM cosignatures WHERE tree_size = 2")
    conn.execute("UPDATE checkpoints SET note = ? WHERE tree_size = 2", (note.format(),))
    conn.commit()
    conn.close()

    with RunAuditLog.open(run.run_dir, run.coordinator) as log:
        with pytest.raises(CheckpointError, match="not consistent"):
            log.append_record(a_round(2, list(run.witness_keys)))
        assert log.size == 2


def test_cosignatures_from_strangers_or_forged_are_refused(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", rounds=1)
    stranger = NoteSigner.generate("witness.test/stranger", COSIGNATURE_V1)
    with RunAuditLog.open(run.run_dir, run.coordinator) as log:
        text = log.checkpoint(2).note.text
        partner = next(iter(run.witness_keys.values()))

        with pytest.raises(SignatureError, match="not a partner"):
            log.add_cosignature(2, NoteSignature.create(text, stranger, timestamp=5))
        with pytest.raises(SignatureError):
            log.add_cosignature(2, NoteSignature(partner.name, partner.key_id, b"\x00" * 72))
        assert not log.add_cosignature(2, log.checkpoint(2).note.signatures[1].line)


def test_run_start_keys_are_the_witness_keys(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", rounds=0, end=False)
    with RunAuditLog.open(run.run_dir, run.coordinator) as log:
        assert log.witness_keys() == {p: k.verifier for p, k in run.witness_keys.items()}
        assert start_record(run.witness_keys)["partners"].keys() == log.witness_keys().keys()
