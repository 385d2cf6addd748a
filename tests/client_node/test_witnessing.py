"""A partner as a witness: it cosigns an extending history and refuses a forked one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flwr.app import ConfigRecord

from audit import (
    COSIGNATURE_V1,
    NoteSigner,
    RunAuditLog,
    SignatureError,
    SignedCheckpoint,
    SplitViewError,
    VerificationError,
    round_record,
    run_start_record,
)
from client_node.node_state import NodeState
from client_node.task import train_round
from client_node.witnessing import cosign, cosigner, pin_log, split_view_reason
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


def _cosign(
    state: NodeState, log: RunAuditLog, signed: SignedCheckpoint, proof: list[bytes] | None = None
) -> str:
    index = signed.tree_size - 1
    return cosign(
        state,
        "p0",
        checkpoint=signed.text(),
        proof=proof or [],
        coordinator_vkey="",
        leaf=log.log.leaf(index),
        leaf_proof=log.log.inclusion_proof(index, signed.tree_size),
    )


def _round(rnd: int, partner: str) -> dict[str, Any]:
    return round_record(
        round_number=rnd,
        participants=[partner],
        update_hashes={partner: "c" * 64},
        model_hash_before="d" * 64,
        model_hash_after="e" * 64,
        epsilon_spent={},
        epsilon_cumulative={},
        epsilon_budget={},
        data_commitments={partner: "f" * 64},
        started_at="2026-01-01T00:01:00Z",
        ended_at="2026-01-01T00:02:00Z",
    )


def test_a_witness_cosigns_then_refuses_a_fork_and_stops_training(tmp_path: Path) -> None:
    state = NodeState(tmp_path / "node").ensure()
    witness_vkey = cosigner(state, "p0").verifier.vkey
    key = NoteSigner.generate("fedinsight.test/run")
    pin_log(state, "p0", "fedinsight.test/run", key.verifier.vkey)

    honest = RunAuditLog.create(tmp_path / "honest", key)
    first = honest.append_record(_start("a" * 64, witness_vkey))
    line = _cosign(state, honest, first)
    assert honest.add_cosignature(first.tree_size, line)
    assert split_view_reason(state) == ""

    # The same coordinator key signs another history of the same size: a fork.
    forked = RunAuditLog.create(tmp_path / "forked", key)
    fork = forked.append_record(_start("b" * 64, witness_vkey))
    with pytest.raises(SplitViewError):
        _cosign(state, forked, fork)
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


def test_a_witness_refuses_an_unpinned_log_and_a_key_other_than_the_pinned_one(
    tmp_path: Path,
) -> None:
    state = NodeState(tmp_path / "node").ensure()
    witness_vkey = cosigner(state, "p0").verifier.vkey
    key = NoteSigner.generate("fedinsight.test/run")
    log = RunAuditLog.create(tmp_path / "log", key)
    first = log.append_record(_start("a" * 64, witness_vkey))

    with pytest.raises(SignatureError, match="did not join"):
        _cosign(state, log, first)
    pin_log(
        state, "p0", "fedinsight.test/run", NoteSigner.generate("fedinsight.test/run").verifier.vkey
    )
    with pytest.raises(SignatureError):
        _cosign(state, log, first)


def test_a_witness_refuses_a_run_start_with_another_key_for_it(tmp_path: Path) -> None:
    state = NodeState(tmp_path / "node").ensure()
    key = NoteSigner.generate("fedinsight.test/run")
    pin_log(state, "p0", "fedinsight.test/run", key.verifier.vkey)
    impostor = NoteSigner.generate("p0", COSIGNATURE_V1).verifier.vkey
    log = RunAuditLog.create(tmp_path / "log", key)
    first = log.append_record(_start("a" * 64, impostor))

    with pytest.raises(VerificationError, match="another witness key"):
        _cosign(state, log, first)


def test_a_witness_refuses_a_round_showing_an_update_it_never_sent(tmp_path: Path) -> None:
    state = NodeState(tmp_path / "node").ensure()
    witness_vkey = cosigner(state, "p0").verifier.vkey
    key = NoteSigner.generate("fedinsight.test/run")
    pin_log(state, "p0", "fedinsight.test/run", key.verifier.vkey)
    log = RunAuditLog.create(tmp_path / "log", key)
    _cosign(state, log, log.append_record(_start("a" * 64, witness_vkey)))
    second = log.append_record(_round(1, "p0"))

    with pytest.raises(VerificationError, match="never sent"):
        _cosign(state, log, second, log.consistency_proof_for(1, second.tree_size))


def test_a_malformed_cosign_request_is_refused_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A request riding on a train or evaluate message must not cost that message its answer.
    import client_node.client_app as client_app
    from federation import Partner, Query

    def odd_record(*args: object, **kwargs: object) -> str:
        raise TypeError("'int' object is not iterable")

    monkeypatch.setattr(client_app, "cosign", odd_record)
    state = NodeState(tmp_path / "node", tmp_path / "key")
    config = ConfigRecord({Query.CHECKPOINT: "x", Query.LEAF: "00"})

    answer = client_app._cosign(state, "p0", config)

    assert answer == {Partner.COSIGN_REFUSAL: "not cosigned: malformed request (TypeError)"}
