"""Witnesses cosign one consistent history and refuse a fork (split view)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from audit import (
    COSIGNATURE_V1,
    Checkpoint,
    MerkleLog,
    NoteSignature,
    NoteSigner,
    SignatureError,
    SignedNote,
    SplitViewError,
    StaleCheckpointError,
    Witness,
)

LOG_KEY = NoteSigner.generate("log.test/fork")


def _signed(log: MerkleLog, size: int | None = None) -> SignedNote:
    size = log.size if size is None else size
    text = Checkpoint(LOG_KEY.name, size, log.root(size)).text
    return SignedNote(text, (NoteSignature.create(text, LOG_KEY),))


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    key = NoteSigner.generate("witness.test/w", COSIGNATURE_V1)
    return Witness(key, tmp_path / "witness.json", {LOG_KEY.name: LOG_KEY.verifier})


def test_witness_cosigns_a_growing_log_and_remembers_it(witness: Witness, tmp_path: Path) -> None:
    log = MerkleLog()
    log.extend([b"a", b"b", b"c"])
    first = witness.cosign(_signed(log), log.consistency_proof(0), timestamp=100)
    log.extend([b"d", b"e"])
    second = witness.cosign(_signed(log), log.consistency_proof(3), timestamp=200)
    reloaded = Witness(witness.signer, tmp_path / "witness.json", witness.logs)

    assert reloaded.latest(LOG_KEY.name) == (5, log.root())
    assert witness.verifier.verify(_signed(log, 3).text.encode(), first.payload)
    assert witness.verifier.verify(_signed(log).text.encode(), second.payload)


def test_witness_state_is_private_json_written_whole(witness: Witness, tmp_path: Path) -> None:
    log = MerkleLog()
    log.extend([b"a", b"b"])
    witness.cosign(_signed(log), log.consistency_proof(0), timestamp=100)

    state = tmp_path / "witness.json"
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert json.loads(state.read_text())["logs"][LOG_KEY.name]["tree_size"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["witness.json"]


def test_witness_refuses_a_forked_history_as_split_view(witness: Witness) -> None:
    honest, fork = MerkleLog(), MerkleLog()
    honest.extend([b"a", b"b", b"c", b"d"])
    fork.extend([b"a", b"b", b"X", b"d", b"e"])
    witness.cosign(_signed(honest), [], timestamp=1)
    fork_note = _signed(fork)

    with pytest.raises(SplitViewError, match="split view") as caught:
        witness.cosign(fork_note, fork.consistency_proof(4), timestamp=2)

    assert "size 4" in str(caught.value) and "size 5" in str(caught.value)
    assert witness.latest(LOG_KEY.name) == (4, honest.root())


def test_witness_refuses_another_root_at_the_same_size(witness: Witness) -> None:
    honest, fork = MerkleLog(), MerkleLog()
    honest.extend([b"a", b"b"])
    fork.extend([b"a", b"c"])
    witness.cosign(_signed(honest), [], timestamp=1)

    with pytest.raises(SplitViewError, match="split view"):
        witness.cosign(_signed(fork), [], timestamp=2)


def test_witness_refuses_an_older_checkpoint(witness: Witness) -> None:
    log = MerkleLog()
    log.extend([b"a", b"b", b"c"])
    witness.cosign(_signed(log), [], timestamp=1)

    with pytest.raises(StaleCheckpointError):
        witness.cosign(_signed(log, 2), [], timestamp=2)


def test_witness_refuses_unknown_logs_and_bad_signatures(witness: Witness) -> None:
    log = MerkleLog()
    log.append(b"a")
    stranger = NoteSigner.generate("log.test/other")
    text = Checkpoint(stranger.name, 1, log.root()).text
    forged_text = Checkpoint(LOG_KEY.name, 1, log.root()).text

    with pytest.raises(SignatureError, match="does not follow"):
        witness.cosign(SignedNote(text, (NoteSignature.create(text, stranger),)), [])
    with pytest.raises(SignatureError):
        witness.cosign(
            SignedNote(forged_text, (NoteSignature(LOG_KEY.name, LOG_KEY.key_id, b"\x01" * 64),)),
            [],
        )


def test_the_checkpoint_cosigned_last_is_cosigned_again_but_not_another_of_its_size(
    witness: Witness,
) -> None:
    # A coordinator that lost the answer asks again with a proof from the size it knew.
    log, fork = MerkleLog(), MerkleLog()
    log.extend([b"a", b"b"])
    witness.cosign(_signed(log), log.consistency_proof(0), timestamp=1)
    log.extend([b"c"])
    witness.cosign(_signed(log), log.consistency_proof(2), timestamp=2)

    again = witness.cosign(_signed(log), log.consistency_proof(2), timestamp=3)

    assert witness.verifier.verify(_signed(log).text.encode(), again.payload)
    assert witness.latest(LOG_KEY.name) == (3, log.root())
    fork.extend([b"a", b"b", b"X"])
    with pytest.raises(SplitViewError):
        witness.cosign(_signed(fork), fork.consistency_proof(2), timestamp=4)
