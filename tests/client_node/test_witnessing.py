"""A partner as a witness: it cosigns an extending history and refuses a forked one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from audit import NoteSigner, RunAuditLog, SplitViewError, run_start_record
from client_node.node_state import NodeState
from client_node.task import train_round
from client_node.witnessing import cosign, cosigner, split_view_reason
from federation import RunSettings


def _start(config_hash: str, witness_vkey: str) -> dict[str, Any]:
    return run_start_record(
        config_hash=config_hash,
        code_hash="0" * 64,
        model_arch_hash="1" * 64,
        dp={"target_delta": 1e-5},
        partners={"p0": witness_vkey},
        started_at="2026-01-01T00:00:00Z",
    )


def test_a_witness_cosigns_then_refuses_a_fork_and_stops_training(tmp_path: Path) -> None:
    state = NodeState(tmp_path / "node").ensure()
    witness_vkey = cosigner(state, "p0").verifier.vkey
    key = NoteSigner.generate("fedinsight.test/run")

    honest = RunAuditLog.create(tmp_path / "honest", key)
    first = honest.append_record(_start("a" * 64, witness_vkey))
    line = cosign(
        state, "p0", checkpoint=first.text(), proof=[], coordinator_vkey=key.verifier.vkey
    )
    assert honest.add_cosignature(first.tree_size, line)
    assert split_view_reason(state) == ""

    # The same coordinator key signs another history of the same size: a fork.
    forked = RunAuditLog.create(tmp_path / "forked", key)
    fork = forked.append_record(_start("b" * 64, witness_vkey))
    with pytest.raises(SplitViewError):
        cosign(state, "p0", checkpoint=fork.text(), proof=[], coordinator_vkey=key.verifier.vkey)
    assert "split view" in split_view_reason(state)

    outcome = train_round(
        {},
        None,  # type: ignore[arg-type]
        RunSettings(),
        None,  # type: ignore[arg-type]
        state,
        run_id="r",
        server_round=2,
    )
    assert outcome.status == "refused"
    assert "split view" in outcome.reason
