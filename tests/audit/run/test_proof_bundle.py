"""Proof bundles: self-contained, verifiable offline, and broken by any change."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from audit import NoteSigner, VerificationError, make_bundle, verify_bundle, write_bundle
from tests.audit.runs import make_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = make_run(tmp_path_factory.mktemp("bundle") / "run", rounds=3)
    (run.run_dir / "coordinator.pinned").write_text(run.coordinator.verifier.vkey)
    return run.run_dir


def test_bundle_of_a_round_verifies_offline_with_its_cosigners(
    run_dir: Path, tmp_path: Path
) -> None:
    path = write_bundle(run_dir, 2, tmp_path / "round-2.json")
    from audit import parse_vkey

    pinned = parse_vkey((run_dir / "coordinator.pinned").read_text())
    report = verify_bundle(path, coordinator_key=pinned)

    assert (report.round_number, report.index, report.tree_size) == (2, 2, 5)
    assert report.cosigned_by == ("hospital-a", "retailer-b")
    assert report.key_pinned and report.record["round"] == 2


def test_bundle_carries_a_c2sp_tlog_proof(run_dir: Path) -> None:
    bundle = make_bundle(run_dir, 1)
    lines = bundle["tlog_proof"].split("\n")

    assert lines[0] == "c2sp.org/tlog-proof@v1"
    assert lines[1] == "index 1"
    assert bundle["tlog_proof"].endswith(bundle["checkpoint"])


def _broken(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    def changed(**edits: Any) -> dict[str, Any]:
        copy: dict[str, Any] = json.loads(json.dumps(bundle))
        for dotted, value in edits.items():
            target: Any = copy
            *parents, last = dotted.split("__")
            for part in parents:
                target = target[int(part)] if part.isdigit() else target[part]
            target[int(last) if last.isdigit() else last] = value
        return copy

    leaf = base64.b64decode(bundle["entries"][1]["leaf"])
    other_leaf = base64.b64encode(leaf.replace(b'"round":2', b'"round":3')).decode()
    proof = bundle["entries"][1]["inclusion_proof"]
    return {
        "leaf altered": changed(entries__1__leaf=other_leaf),
        "proof element swapped": changed(
            entries__1__inclusion_proof=[proof[1], proof[0], *proof[2:]]
        ),
        "proof truncated": changed(entries__1__inclusion_proof=proof[:-1]),
        "index changed": changed(entries__1__index=3),
        "round claimed differs": changed(round=3),
        "checkpoint size edited": changed(
            checkpoint=bundle["checkpoint"].replace("\n5\n", "\n6\n")
        ),
        "tlog proof edited": changed(tlog_proof=bundle["tlog_proof"].replace("index 2", "index 1")),
        "format unknown": changed(format="other/v9"),
        "run start missing": changed(entries=[bundle["entries"][1]]),
    }


def test_every_altered_bundle_fails(run_dir: Path) -> None:
    bundle = make_bundle(run_dir, 2)
    accepted = []
    for name, broken in _broken(bundle).items():
        try:
            verify_bundle(broken)
        except VerificationError:
            continue
        accepted.append(name)

    assert accepted == []


def test_bundle_fails_against_another_pinned_key(run_dir: Path) -> None:
    with pytest.raises(VerificationError, match="no signature"):
        verify_bundle(
            make_bundle(run_dir, 2),
            coordinator_key=NoteSigner.generate("fedinsight.test/run-1").verifier,
        )


def test_bundle_for_a_missing_round_is_refused(run_dir: Path) -> None:
    from audit import FormatError

    with pytest.raises(FormatError, match="round 9"):
        make_bundle(run_dir, 9)
