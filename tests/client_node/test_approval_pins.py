"""Approving a manifest that names its run's audit log pins the log at the partner's witness."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit import AuditError, NoteSigner
from client_node.approval import approve, names_log
from client_node.node_state import NodeState
from client_node.witnessing import pinned_origins
from federation import RunSettings, manifest_hash, run_manifest, with_audit_log


def test_approving_a_manifest_naming_its_log_pins_origin_and_key(tmp_path: Path) -> None:
    state = NodeState(tmp_path / "node")
    state.root.mkdir()
    coordinator = NoteSigner.generate("coord.test")
    plain = run_manifest(RunSettings())
    named = with_audit_log(
        plain, origin="coord.test/r1", coordinator_vkey=coordinator.verifier.vkey
    )

    approve(state, named, partner="p0")

    assert manifest_hash(named) == plain["manifest_sha256"]  # the terms' hash is unchanged
    assert pinned_origins(state, "p0") == {"coord.test/r1": coordinator.verifier.vkey}
    assert names_log(state, str(plain["manifest_sha256"]))


def test_a_manifest_naming_a_pinned_log_under_another_key_is_refused(tmp_path: Path) -> None:
    state = NodeState(tmp_path / "node")
    state.root.mkdir()
    plain = run_manifest(RunSettings())
    first = NoteSigner.generate("coord.test").verifier.vkey
    second = NoteSigner.generate("coord.test").verifier.vkey
    approve(state, with_audit_log(plain, origin="coord.test/r1", coordinator_vkey=first))
    other = run_manifest(RunSettings(num_server_rounds=7))

    with pytest.raises(AuditError, match="another key"):
        approve(state, with_audit_log(other, origin="coord.test/r1", coordinator_vkey=second))
    assert not names_log(state, str(other["manifest_sha256"]))
