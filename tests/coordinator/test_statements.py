"""The coordinator checks each partner's signed statement before aggregating its update: a bad
one (missing, NaN, empty commitment, ε over budget, bad signature, another update) is a rejected
update, and the round goes on with the others."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from flwr.app import (
    ArrayRecord,
    ConfigRecord,
    Message,
    MessageType,
    Metadata,
    MetricRecord,
    RecordDict,
)

from audit import COSIGNATURE_V1, NoteSigner, ledger_link, rdp_epsilon, sign_statement
from audit.run.statement import LEDGER_GENESIS
from coordinator.replies import SortedReplies
from coordinator.statements import check_statements
from federation import state_bytes
from insight.models import CustomerSequenceModel

ORIGIN = "coord.test/run"
STATE = CustomerSequenceModel().state_dict()
UPDATE_HASH = hashlib.sha256(state_bytes(STATE)).hexdigest()
COMMITMENT = "c" * 64


def _statement(name: str, **override: Any) -> dict[str, Any]:
    eps = rdp_epsilon([(1.1, 0.01, 100)], 1e-5)
    entry = {
        "seq": 1,
        "noise_multiplier": 1.1,
        "sample_rate": 0.01,
        "steps": 100,
        "delta": 1e-5,
        "accountant": "rdp",
    }
    statement = {
        "partner": name, "origin": ORIGIN, "round": 1, "update_hash": UPDATE_HASH,
        "data_commitment": COMMITMENT, "noise_multiplier": 1.1, "sample_rate": 0.01,
        "steps": 100, "delta": 1e-5, "accountant": "rdp", "epsilon": eps,
        "epsilon_cumulative": eps, "epsilon_budget": 8.0, "ledger_seq": 1,
        "ledger_prev": LEDGER_GENESIS, "ledger_head": ledger_link(LEDGER_GENESIS, entry),
        "charges": [],
    }  # fmt: skip
    statement.update(override)
    return statement


def _reply(node_id: int, key: NoteSigner, signed: Any, **metrics: float) -> Message:
    name = f"partner-{node_id}"
    partner = {
        "name": name,
        "status": "trained",
        "commitment": COMMITMENT,
        "update-hash": UPDATE_HASH,
    }
    if signed is not None:
        partner["statement"] = signed if isinstance(signed, str) else json.dumps(signed)
    content = RecordDict(
        {
            "arrays": ArrayRecord(STATE),
            "metrics": MetricRecord({"num-examples": 10, **metrics}),
            "partner": ConfigRecord(partner),
        }
    )
    metadata = Metadata(
        run_id=1, message_id=f"r{node_id}", src_node_id=node_id, dst_node_id=0,
        reply_to_message_id=f"i{node_id}", group_id="1", created_at=0.0, ttl=3600.0,
        message_type=MessageType.TRAIN,
    )  # fmt: skip
    reply: Message = Message(content, metadata=metadata)  # type: ignore[call-overload]
    return reply


def _signed_unchecked(key: NoteSigner, statement: dict[str, Any]) -> str:
    """A statement signed without the shape check (as a broken or hostile node could)."""
    import base64

    from audit.run.statement import _message

    return json.dumps(
        {
            "statement": statement,
            "signature": base64.b64encode(key.private_key.sign(_message(statement))).decode(),
        }
    )


@pytest.mark.parametrize(
    ("make", "wanted"),
    [
        (lambda k: None, "no signed statement"),
        (
            lambda k: _signed_unchecked(k, _statement("partner-2", data_commitment="")),
            "data_commitment",
        ),
        (
            lambda k: _signed_unchecked(k, _statement("partner-2", epsilon_cumulative=9.0)),
            "exceeds the budget",
        ),
        (lambda k: "{not json", "statement refused"),
        (
            lambda k: sign_statement(
                NoteSigner.generate("x", COSIGNATURE_V1), _statement("partner-2")
            ),
            "does not verify",
        ),
        (lambda k: sign_statement(k, _statement("partner-2", update_hash="d" * 64)), "update_hash"),
    ],
)
def test_a_bad_statement_rejects_that_update_only(make: Any, wanted: str) -> None:
    keys = {n: NoteSigner.generate(f"partner-{n}", COSIGNATURE_V1) for n in (1, 2)}
    eps = _statement("partner-1")["epsilon"]
    good = _reply(1, keys[1], sign_statement(keys[1], _statement("partner-1")),
                  **{"epsilon-cumulative": eps, "epsilon-budget": 8.0})  # fmt: skip
    bad = _reply(2, keys[2], make(keys[2]), **{"epsilon-cumulative": eps, "epsilon-budget": 8.0})
    replies = SortedReplies(updates=[good, bad])

    kept = check_statements(
        replies,
        origin=ORIGIN,
        rnd=1,
        keys={f"partner-{n}": k.verifier for n, k in keys.items()},
        dp=True,
    )

    assert list(kept) == ["partner-1"] and replies.updates == [good]
    assert wanted in replies.rejected["partner-2"]


def test_a_nan_metric_beside_a_good_statement_is_rejected() -> None:
    key = NoteSigner.generate("partner-1", COSIGNATURE_V1)
    reply = _reply(1, key, sign_statement(key, _statement("partner-1")),
                   **{"epsilon-cumulative": float("nan"), "epsilon-budget": 8.0})  # fmt: skip
    replies = SortedReplies(updates=[reply])

    check_statements(replies, origin=ORIGIN, rnd=1, keys={"partner-1": key.verifier}, dp=True)

    assert replies.updates == [] and "differs" in replies.rejected["partner-1"]
