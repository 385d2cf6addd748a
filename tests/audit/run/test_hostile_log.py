"""A run log whose last leaf is hostile, appended and signed with the coordinator's own key:
the run verifier, ``fedinsight audit verify`` and the service each end in a one-line typed
error or a 409, never a traceback or a 500."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from audit import (
    Checkpoint,
    MerkleLog,
    NoteSignature,
    SignedCheckpoint,
    SignedNote,
    VerificationError,
    audit_paths,
    verify_run_dir,
)
from audit.merkle import CheckpointStore, SqliteStore
from audit.service import AuditServiceSettings, create_app
from tests.audit.runs import make_run, officer_trust

ROOT = Path(__file__).parents[3]
HOSTILE = {
    "deep": (b"[" * 200_000 + b"]" * 200_000, "nested deeper"),
    "long-integer": (b'{"round":' + b"7" * 5000 + b"}", "5000 digits"),
    "large": (b'"' + b"x" * (2 << 20) + b'"', "above the limit"),
    "not-utf8": (b"\xff\xfe{}", "not UTF-8"),
    "duplicate-key": (b'{"type":"round","type":"run_end"}', "appears twice"),
}


def _with_hostile_leaf(run_dir: Path, leaf: bytes) -> Path:
    run = make_run(run_dir, rounds=1, end=False)
    store = SqliteStore(audit_paths(run_dir)[0])
    try:
        log = MerkleLog.from_store(store)
        with log.transaction():
            log.append(leaf)
            checkpoint = Checkpoint(run.coordinator.name, log.size, log.root())
            line = NoteSignature.create(checkpoint.text, run.coordinator)
            CheckpointStore(store).add(
                SignedCheckpoint(checkpoint, SignedNote(checkpoint.text, (line,)))
            )
    finally:
        store.close()
    return run_dir


@pytest.fixture(scope="module", params=sorted(HOSTILE))
def hostile(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    leaf, wanted = HOSTILE[request.param]
    return _with_hostile_leaf(tmp_path_factory.mktemp(request.param) / "run", leaf), wanted


def test_the_run_verifier_names_the_leaf(hostile: tuple[Path, str]) -> None:
    run_dir, wanted = hostile
    with pytest.raises(VerificationError) as caught:
        verify_run_dir(run_dir)

    message = str(caught.value)
    assert message.startswith("leaf 2: ") and wanted in message and "\n" not in message


def test_audit_verify_prints_one_line(hostile: tuple[Path, str], tmp_path: Path) -> None:
    run_dir, wanted = hostile
    trust = officer_trust(tmp_path / "trust", run_dir / "audit" / "coordinator.vkey")
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "audit", "verify", str(run_dir), *trust],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "60"},
    )

    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: verification failed: leaf 2: ") and wanted in line


def test_the_service_answers_409_never_500(hostile: tuple[Path, str]) -> None:
    run_dir, _ = hostile
    with TestClient(create_app(run_dir, AuditServiceSettings())) as client:
        for path in (
            "/api/v1/entries",
            "/api/v1/entries/2",
            "/api/v1/rounds",
            "/api/v1/epsilon",
            "/",
        ):
            assert client.get(path).status_code == 409, path
        assert client.get("/api/v1/verification").json()["ok"] is False
        assert client.get("/api/v1/entries/1").status_code == 200
