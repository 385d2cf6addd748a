"""A restarted coordinator (run_resume records, the resume point checked against the audit log),
how the round loop sorts the partners' replies, and the faults a test node can inject."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import torch
from flwr.app import (
    ArrayRecord,
    ConfigRecord,
    Error,
    Message,
    MetricRecord,
    RecordDict,
)

from audit import (
    COSIGNATURE_V1,
    NoteSigner,
    RecordError,
    RunAuditLog,
    round_record,
    run_end_record,
    run_resume_record,
    run_start_record,
)
from client_node.faults import FAULTS, inject_fault
from coordinator.audit_trail import AuditTrail
from coordinator.errors import CoordinatorError
from coordinator.replies import sort_replies
from coordinator.resume import resume_point
from federation import RunSettings, save_model, state_sha256
from insight.models import CustomerSequenceModel
from tests.flower_replies import received_reply, reply_metadata

StateDict = dict[str, torch.Tensor]
PARTNERS = ("p0", "p1")
WITNESSES = {p: NoteSigner.generate(f"witness.test/{p}", COSIGNATURE_V1) for p in PARTNERS}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _start() -> dict[str, Any]:
    return run_start_record(
        config_hash=sha("config"),
        code_hash=sha("code"),
        model_arch_hash=sha("arch"),
        dp={"noise_multiplier": 1.1, "max_grad_norm": 1.0, "target_delta": 1e-5},
        partners={p: key.verifier.vkey for p, key in WITNESSES.items()},
        started_at="2026-01-01T09:00:00Z",
    )


def _round(
    number: int,
    before: str,
    after: str,
    *,
    dropouts: tuple[str, ...] = (),
    rejected: tuple[str, ...] = (),
) -> dict[str, Any]:
    trained = [p for p in PARTNERS if p not in dropouts]
    return round_record(
        round_number=number,
        participants=trained,
        dropouts=dropouts,
        rejected=rejected,
        update_hashes={p: sha(f"update {p} {number}") for p in trained},
        model_hash_before=before,
        model_hash_after=after,
        epsilon_spent={p: 0.5 for p in trained},
        epsilon_cumulative={p: 0.5 * number for p in trained},
        epsilon_budget={p: 3.0 for p in PARTNERS},
        data_commitments={p: sha(f"data {p}") for p in trained},
        started_at=f"2026-01-01T10:{number:02d}:00Z",
        ended_at=f"2026-01-01T10:{number:02d}:30Z",
    )


def _resume(after_round: int, model_hash: str) -> dict[str, Any]:
    return run_resume_record(
        after_round=after_round, model_hash=model_hash, resumed_at="2026-01-01T11:00:00Z"
    )


@pytest.fixture
def log(tmp_path: Path) -> Iterator[RunAuditLog]:
    """An audit log holding a run start and round 1 (model 0 -> model 1)."""
    audit_log = RunAuditLog.create(tmp_path / "run", NoteSigner.generate("fedinsight.test/r"))
    audit_log.append_record(_start())
    audit_log.append_record(_round(1, sha("model 0"), sha("model 1")))
    yield audit_log
    audit_log.close()


# audit: the run_resume record ------------------------------------------------------------------


def test_run_resume_record_is_built_valid() -> None:
    record = run_resume_record(
        after_round=3,
        model_hash=sha("m"),
        resumed_at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
    )

    assert record == {
        "v": 1,
        "type": "run_resume",
        "after_round": 3,
        "model_hash": sha("m"),
        "resumed_at": "2026-01-01T12:00:00Z",
    }


@pytest.mark.parametrize(
    "change",
    [
        {"after_round": -1},
        {"after_round": True},
        {"after_round": 1.0},
        {"model_hash": "ABC"},
        {"model_hash": sha("m").upper()},
        {"resumed_at": datetime(2026, 1, 1, 12, 0)},
        {"resumed_at": "yesterday"},
    ],
    ids=lambda change: f"{next(iter(change))}={next(iter(change.values()))!r}"[:40],
)
def test_an_invalid_run_resume_record_is_refused(change: dict[str, Any]) -> None:
    fields: dict[str, Any] = {
        "after_round": 1,
        "model_hash": sha("m"),
        "resumed_at": "2026-01-01T12:00:00Z",
        **change,
    }

    with pytest.raises(RecordError):
        run_resume_record(**fields)


def test_a_resumed_run_logs_start_round_resume_round_end(log: RunAuditLog) -> None:
    log.append_record(_resume(1, sha("model 1")))
    log.append_record(_round(2, sha("model 1"), sha("model 2")))
    log.append_record(
        run_end_record(final_model_hash=sha("model 2"), rounds=2, ended_at="2026-01-01T12:00:00Z")
    )

    assert [r["type"] for r in log.records()] == [
        "run_start",
        "round",
        "run_resume",
        "round",
        "run_end",
    ]
    assert log.sequence.resumes == 1
    assert log.sequence.ended


@pytest.mark.parametrize("after_round", [0, 2])
def test_a_run_resume_after_the_wrong_round_is_refused(log: RunAuditLog, after_round: int) -> None:
    with pytest.raises(RecordError, match=f"run_resume after round {after_round}"):
        log.append_record(_resume(after_round, sha("model 1")))

    assert log.size == 2


def test_a_run_resume_with_another_model_is_refused(log: RunAuditLog) -> None:
    with pytest.raises(RecordError, match="model_hash is not the last round's"):
        log.append_record(_resume(1, sha("another model")))

    assert log.size == 2


def test_the_round_after_a_resume_continues_from_the_resumed_model(log: RunAuditLog) -> None:
    log.append_record(_resume(1, sha("model 1")))

    with pytest.raises(RecordError, match="model_hash_before"):
        log.append_record(_round(2, sha("model 0"), sha("model 2")))


def test_a_run_resume_after_the_run_end_is_refused(log: RunAuditLog) -> None:
    log.append_record(
        run_end_record(final_model_hash=sha("model 1"), rounds=1, ended_at="2026-01-01T12:00:00Z")
    )

    with pytest.raises(RecordError, match="no record may follow run_end"):
        log.append_record(_resume(1, sha("model 1")))


def test_a_rejected_update_is_logged_among_the_dropouts(log: RunAuditLog) -> None:
    record = _round(2, sha("model 1"), sha("model 2"), dropouts=("p1",), rejected=("p1",))

    log.append_record(record)

    assert log.records()[-1]["rejected"] == ["p1"]


def test_a_rejected_partner_must_be_among_the_dropouts() -> None:
    with pytest.raises(RecordError, match="rejected"):
        _round(2, sha("model 1"), sha("model 2"), rejected=("p1",))


def test_the_log_refuses_a_rejected_partner_outside_the_dropouts(log: RunAuditLog) -> None:
    record = _round(2, sha("model 1"), sha("model 2"))
    record["rejected"] = ["p1"]  # p1 is a participant, not a dropout

    with pytest.raises(RecordError, match="rejected"):
        log.append_record(record)

    assert log.size == 2


# coordinator/resume.py: resume_point -----------------------------------------------------------


SIGNER = NoteSigner.generate("fedinsight.local/x")


def _model(seed: int) -> StateDict:
    torch.manual_seed(seed)
    return {k: v.clone() for k, v in CustomerSequenceModel().state_dict().items()}


def _trail(run_dir: Path, *records: dict[str, Any]) -> AuditTrail:
    """The audit trail of a restarted coordinator over a log holding ``records``."""
    first = AuditTrail(run_dir, SIGNER)
    for record in records:
        first.log.append_record(record)
    first.close()
    trail = AuditTrail(run_dir, SIGNER)
    assert trail.resumed
    return trail


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs" / "r1"


def test_resume_point_is_after_the_last_logged_round_from_its_model(run_dir: Path) -> None:
    state = _model(1)
    digest = save_model(state, run_dir / "models" / "round-001.pt")
    trail = _trail(run_dir, _start(), _round(1, sha("model 0"), digest))

    try:
        point = resume_point(trail, run_dir, RunSettings())
    finally:
        trail.close()

    assert point.after_round == 1
    assert point.model_hash == digest
    assert point.state.keys() == state.keys()
    assert all(torch.equal(point.state[k], state[k]) for k in state)
    assert point.partners == {p: key.verifier.vkey for p, key in WITNESSES.items()}
    assert point.cumulative == {"p0": 0.5, "p1": 0.5}
    assert point.budgets == {"p0": 3.0, "p1": 3.0}


def test_resume_point_before_any_round_is_the_seeded_initial_model(run_dir: Path) -> None:
    trail = _trail(run_dir, _start())

    try:
        point = resume_point(trail, run_dir, RunSettings(seed=3))
    finally:
        trail.close()

    assert point.after_round == 0
    assert point.model_hash == state_sha256(_model(3))


def test_resume_point_refuses_an_ended_run(run_dir: Path) -> None:
    digest = save_model(_model(1), run_dir / "models" / "round-001.pt")
    end = run_end_record(final_model_hash=digest, rounds=1, ended_at="2026-01-01T12:00:00Z")
    trail = _trail(run_dir, _start(), _round(1, sha("model 0"), digest), end)

    try:
        with pytest.raises(CoordinatorError, match="already ended"):
            resume_point(trail, run_dir, RunSettings())
    finally:
        trail.close()


def test_resume_point_refuses_a_model_file_the_log_does_not_name(run_dir: Path) -> None:
    logged = save_model(_model(1), run_dir / "models" / "round-001.pt")
    trail = _trail(run_dir, _start(), _round(1, sha("model 0"), logged))
    path = run_dir / "models" / "round-001.pt"
    save_model(_model(2), path)  # the file was replaced after the round was logged

    try:
        with pytest.raises(CoordinatorError, match="not the model_hash_after of round 1") as info:
            resume_point(trail, run_dir, RunSettings())
    finally:
        trail.close()

    assert str(path) in str(info.value)
    assert logged in str(info.value)


def test_resume_point_refuses_a_missing_model_file(run_dir: Path) -> None:
    trail = _trail(run_dir, _start(), _round(1, sha("model 0"), sha("model 1")))

    try:
        with pytest.raises(
            CoordinatorError, match=r"round-001\.pt: the model of round 1 is missing"
        ):
            resume_point(trail, run_dir, RunSettings())
    finally:
        trail.close()


def test_resume_point_refuses_an_empty_log(run_dir: Path) -> None:
    trail = _trail(run_dir)

    try:
        with pytest.raises(CoordinatorError, match="audit log is empty"):
            resume_point(trail, run_dir, RunSettings())
    finally:
        trail.close()


# coordinator/replies.py: sort_replies -----------------------------------------------------------


BOUND = 50.0


@pytest.fixture(scope="module")
def global_state() -> StateDict:
    return _model(0)


def _reply(node_id: int, partner: dict[str, str], state: StateDict | None = None) -> Message:
    """A reply as the ClientApp sends it; metadata as the SuperLink sets it."""
    records: dict[str, Any] = {
        "metrics": MetricRecord({"num-examples": 10}),
        "partner": ConfigRecord({"name": f"p{node_id}", **partner}),
    }
    if state is not None:
        records["arrays"] = ArrayRecord(state)
    return received_reply(RecordDict(records), node_id)


def _failure(node_id: int) -> Message:
    """What the grid hands over for a node that went away."""
    reply: Message = Message(  # type: ignore[call-overload]
        error=Error(code=0, reason="node unreachable"), metadata=reply_metadata(node_id)
    )
    return reply


def _honest(global_state: StateDict, shift: float = 1e-3) -> StateDict:
    return {k: v + shift if v.is_floating_point() else v for k, v in global_state.items()}


def _sort(replies: list[Message], global_state: StateDict, bound: float = BOUND) -> Any:
    return sort_replies(
        replies,
        global_state,
        global_state=global_state,
        max_update_norm=bound,
        names={9: "p9"},
    )


def test_an_honest_update_is_kept(global_state: StateDict) -> None:
    reply = _reply(0, {"status": "trained"}, _honest(global_state))

    out = _sort([reply], global_state)

    assert out.updates == [reply]
    assert (out.refusals, out.errors, out.rejected, out.failures) == ({}, {}, {}, [])


def test_updates_come_in_partner_order_whatever_the_arrival_order(
    global_state: StateDict,
) -> None:
    # Aggregating in arrival order made the model's last bits differ between identical runs.
    replies = [_reply(n, {"status": "trained"}, _honest(global_state)) for n in (3, 1, 2)]

    out = _sort(replies, global_state)

    assert [m.metadata.src_node_id for m in out.updates] == [1, 2, 3]


def test_an_error_reply_is_an_error_not_an_update(global_state: StateDict) -> None:
    reply = _reply(1, {"status": "error", "reason": "events.csv, line 2: bad timestamp"})

    out = _sort([reply], global_state)

    assert out.errors == {"p1": "events.csv, line 2: bad timestamp"}
    assert out.updates == [] and out.rejected == {}
    assert out.dropouts() == ["p1"]


def test_an_error_reply_with_arrays_is_still_an_error(global_state: StateDict) -> None:
    reply = _reply(1, {"status": "error", "reason": "bad data"}, _honest(global_state))

    out = _sort([reply], global_state)

    assert out.errors == {"p1": "bad data"} and out.updates == []


def test_a_refused_reply_is_a_refusal_not_a_dropout(global_state: StateDict) -> None:
    reply = _reply(2, {"status": "refused", "reason": "run not approved"})

    out = _sort([reply], global_state)

    assert out.refusals == {"p2": "run not approved"}
    assert out.dropouts() == []


def test_a_huge_norm_update_is_rejected(global_state: StateDict) -> None:
    evil = inject_fault(_honest(global_state), "huge-norm")
    reply = _reply(3, {"status": "trained"}, evil)

    out = _sort([reply], global_state)

    assert list(out.rejected) == ["p3"]
    assert out.rejected["p3"].startswith("update norm ")
    assert out.rejected["p3"].endswith("is above the bound 50")
    assert out.updates == [] and out.dropouts() == ["p3"]


def test_without_a_bound_the_huge_norm_update_passes(global_state: StateDict) -> None:
    reply = _reply(3, {"status": "trained"}, inject_fault(_honest(global_state), "huge-norm"))

    out = _sort([reply], global_state, bound=0.0)

    assert out.updates == [reply]


@pytest.mark.parametrize(
    ("fault", "reason"),
    [("nan", "is not finite"), ("inf", "is not finite"), ("wrong-shape", "shape")],
)
def test_a_faulty_update_is_rejected_even_without_a_bound(
    global_state: StateDict, fault: str, reason: str
) -> None:
    reply = _reply(4, {"status": "trained"}, inject_fault(_honest(global_state), fault))

    out = _sort([reply], global_state, bound=0.0)

    assert reason in out.rejected["p4"]


def test_a_trained_reply_without_arrays_is_rejected(global_state: StateDict) -> None:
    out = _sort([_reply(5, {"status": "trained"})], global_state)

    assert out.rejected == {"p5": "no update"}


def test_a_node_that_went_away_is_a_failure_under_its_partner_name(
    global_state: StateDict,
) -> None:
    out = _sort([_failure(9), _failure(8)], global_state)

    assert out.failures == ["p9", "node-8"]
    assert out.updates == []


def test_every_kind_of_reply_is_counted_once(global_state: StateDict) -> None:
    replies = [
        _reply(0, {"status": "trained"}, _honest(global_state)),
        _reply(1, {"status": "error", "reason": "bad data"}),
        _reply(2, {"status": "refused", "reason": "budget"}),
        _reply(3, {"status": "trained"}, inject_fault(_honest(global_state), "huge-norm")),
        _failure(9),
    ]

    out = _sort(replies, global_state)

    assert out.sampled == 5
    assert out.dropouts() == ["p1", "p3", "p9"]


# client_node/faults.py -------------------------------------------------------------------------


@pytest.fixture
def small_state() -> StateDict:
    gen = torch.Generator().manual_seed(0)
    return {
        "scale": torch.tensor(2.0),  # a floating scalar: not the one a fault targets
        "steps": torch.tensor([3, 4]),  # an int buffer: left alone
        "weight": torch.randn(3, 4, generator=gen),
        "bias": torch.randn(4, generator=gen),
    }


def _copy(state: StateDict) -> StateDict:
    return {k: v.clone() for k, v in state.items()}


def test_nan_fault_puts_a_nan_in_the_first_float_tensor(small_state: StateDict) -> None:
    out = inject_fault(small_state, "nan")

    assert torch.isnan(out["weight"]).sum() == 1
    assert all(torch.equal(out[k], small_state[k]) for k in ("scale", "steps", "bias"))


def test_inf_fault_puts_an_inf_in_the_first_float_tensor(small_state: StateDict) -> None:
    out = inject_fault(small_state, "inf")

    assert torch.isinf(out["weight"]).sum() == 1
    assert not torch.isnan(out["weight"]).any()


def test_huge_norm_fault_scales_every_float_tensor_by_a_million(small_state: StateDict) -> None:
    out = inject_fault(small_state, "huge-norm")

    for key in ("scale", "weight", "bias"):
        assert torch.allclose(out[key], small_state[key] * 1e6)
    assert torch.equal(out["steps"], small_state["steps"])
    ratio = float(out["weight"].norm() / small_state["weight"].norm())
    assert math.isclose(ratio, 1e6, rel_tol=1e-5)


def test_wrong_shape_fault_changes_the_first_float_tensors_shape(small_state: StateDict) -> None:
    out = inject_fault(small_state, "wrong-shape")

    assert out["weight"].shape == (3, 4, 2)
    assert out["bias"].shape == small_state["bias"].shape


def test_an_unknown_fault_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="inject-fault 'zero'"):
        inject_fault({"w": torch.zeros(2)}, "zero")


@pytest.mark.parametrize("kind", FAULTS)
def test_a_fault_leaves_its_input_unchanged(small_state: StateDict, kind: str) -> None:
    before = _copy(small_state)

    out = inject_fault(small_state, kind)

    assert out is not small_state
    assert all(torch.equal(small_state[k], before[k]) for k in before)


def test_more_partners_than_a_checkpoint_can_carry_is_refused_before_anything_is_logged(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The coordinator signs each checkpoint and every partner cosigns it: a note holds at most
    MAX_SIGNATURES lines, so a run with more than MAX_PARTNERS (MAX_SIGNATURES - 1) partners
    stops with a clear reason."""
    from coordinator import audit_trail
    from coordinator.errors import PartnerLimitError

    monkeypatch.setattr(audit_trail, "MAX_PARTNERS", 2)
    trail = AuditTrail(run_dir, SIGNER)
    keys = {f"p{i}": NoteSigner.generate(f"p{i}").verifier.vkey for i in range(3)}
    try:
        with pytest.raises(PartnerLimitError, match=r"3 partners: .* at most 2 partners"):
            trail.start(
                None,  # type: ignore[arg-type]  # refused before the grid is used
                {name: i for i, name in enumerate(keys)},
                keys,
                settings=RunSettings(),
                arch_hash=sha("arch"),
            )
        assert trail.log.size == 0
    finally:
        trail.close()
