"""The final model comes home: kept only when it matches the run_end record the node cosigned."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from audit import NoteSigner, RunAuditLog, run_end_record, run_start_record
from client_node.errors import ModelRefusedError
from client_node.homecoming import (
    Delivery,
    answer,
    kept_runs,
    manifest_path,
    model_path,
    receive_model,
)
from client_node.node_state import NodeState
from client_node.witnessing import cosign, cosigner, pin_log
from federation import Homecoming, Partner, RunSettings, build_manifest, save_model
from insight import CustomerSequenceModel

RUN = "run-7"


def _manifest() -> str:
    manifest = build_manifest(RunSettings(), code_sha256="c" * 64, architecture_sha256="a" * 64)
    return json.dumps(manifest)


def _deliver(tmp_path: Path) -> tuple[NodeState, Delivery]:
    """A run whose log the node cosigned up to its run_end record, and what the coordinator
    sends home."""
    state = NodeState(tmp_path / "node").ensure()
    vkey = cosigner(state, "p0").verifier.vkey
    model_file = tmp_path / "model.pt"
    digest = save_model(CustomerSequenceModel().state_dict(), model_file)
    key = NoteSigner.generate("fedinsight.test/run-7")
    log = RunAuditLog.create(tmp_path / "run", key)
    pin_log(state, "p0", log.origin, key.verifier.vkey)  # the node joined this run's log
    seen = 0
    for record in (
        run_start_record(
            config_hash="0" * 64,
            code_hash="1" * 64,
            model_arch_hash="2" * 64,
            dp={"target_delta": 1e-5},
            partners={"p0": vkey},
            started_at="2026-01-01T00:00:00Z",
        ),
        run_end_record(final_model_hash=digest, rounds=0, ended_at="2026-01-01T01:00:00Z"),
    ):
        checkpoint = log.append_record(record)
        proof = log.consistency_proof_for(seen)
        cosign(
            state,
            "p0",
            checkpoint=checkpoint.text(),
            proof=proof,
            coordinator_vkey=key.verifier.vkey,
            leaf=log.log.leaf(checkpoint.tree_size - 1),
            leaf_proof=log.log.inclusion_proof(checkpoint.tree_size - 1, checkpoint.tree_size),
        )
        seen = checkpoint.tree_size
    size = log.size
    delivery = Delivery(
        run=RUN,
        origin=log.origin,
        model=model_file.read_bytes(),
        manifest_text=_manifest(),
        record=log.log.leaf(size - 1),
        tree_size=size,
        inclusion_proof=log.log.inclusion_proof(size - 1, size),
    )
    log.close()
    return state, delivery


def test_a_model_matching_the_cosigned_run_end_record_is_kept(tmp_path: Path) -> None:
    state, delivery = _deliver(tmp_path)
    digest = receive_model(state, "p0", delivery)
    assert model_path(state, RUN).read_bytes() == delivery.model
    assert model_path(state, RUN).with_suffix(".pt.sha256").read_text().split()[0] == digest
    assert json.loads(manifest_path(state, RUN).read_text())["manifest_sha256"]
    assert kept_runs(state) == [RUN]


def test_a_model_with_another_hash_is_refused_and_nothing_is_kept(tmp_path: Path) -> None:
    state, delivery = _deliver(tmp_path)
    tampered = replace(delivery, model=delivery.model[:-1] + bytes([delivery.model[-1] ^ 1]))
    with pytest.raises(ModelRefusedError, match="is not the run_end record's final_model_hash"):
        receive_model(state, "p0", tampered)
    assert not model_path(state, RUN).exists()
    assert kept_runs(state) == []


def test_a_record_that_is_not_in_the_cosigned_tree_is_refused(tmp_path: Path) -> None:
    state, delivery = _deliver(tmp_path)
    forged = replace(delivery, record=delivery.record.replace(b"run_end", b"run_end "))
    with pytest.raises(ModelRefusedError, match="is not in the log"):
        receive_model(state, "p0", forged)


def test_a_tree_size_other_than_the_one_the_node_cosigned_is_refused(tmp_path: Path) -> None:
    state, delivery = _deliver(tmp_path)
    with pytest.raises(ModelRefusedError, match="last cosigned tree size 2"):
        receive_model(state, "p0", replace(delivery, tree_size=3))


def test_a_node_that_cosigned_nothing_refuses(tmp_path: Path) -> None:
    _, delivery = _deliver(tmp_path)
    stranger = NodeState(tmp_path / "stranger").ensure()
    with pytest.raises(ModelRefusedError, match="cosigned no checkpoint"):
        receive_model(stranger, "p9", delivery)


def test_a_manifest_that_does_not_match_its_hash_is_refused(tmp_path: Path) -> None:
    state, delivery = _deliver(tmp_path)
    manifest = json.loads(delivery.manifest_text)
    manifest["training"]["num-server-rounds"] = 99
    with pytest.raises(ModelRefusedError, match="manifest"):
        receive_model(state, "p0", replace(delivery, manifest_text=json.dumps(manifest)))


def test_a_run_name_that_is_a_path_is_refused(tmp_path: Path) -> None:
    state, delivery = _deliver(tmp_path)
    with pytest.raises(ModelRefusedError, match="not a run name"):
        receive_model(state, "p0", replace(delivery, run="../../etc"))


def test_the_query_answer_carries_the_kept_hash_or_the_refusal(tmp_path: Path) -> None:
    state, delivery = _deliver(tmp_path)
    config: dict[str, object] = {
        Homecoming.RUN: delivery.run,
        Homecoming.ORIGIN: delivery.origin,
        Homecoming.MODEL: delivery.model,
        Homecoming.MANIFEST: delivery.manifest_text,
        Homecoming.RECORD: delivery.record,
        Homecoming.TREE_SIZE: delivery.tree_size,
        Homecoming.INCLUSION: ",".join(p.hex() for p in delivery.inclusion_proof),
    }
    assert set(answer(state, "p0", config)) == {Homecoming.KEPT}
    refused = answer(state, "p0", {**config, Homecoming.MODEL: b"not the model"})
    assert "final_model_hash" in refused[Partner.REFUSAL]
    malformed = answer(state, "p0", {k: v for k, v in config.items() if k != Homecoming.RECORD})
    assert "malformed delivery" in malformed[Partner.REFUSAL]
