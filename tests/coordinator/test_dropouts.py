"""Dropouts are complete: a partner of the run that may train and gives no answer in a round is
a dropout of that round's progress event and audit record, with why, whatever the round it
vanished in (the ServerApp driven by a fake grid: no Flower processes)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import pytest
from flwr.app import (
    ArrayRecord,
    ConfigRecord,
    Context,
    Error,
    Message,
    MessageType,
    Metadata,
    MetricRecord,
    RecordDict,
)
from flwr.common.constant import ErrorCode
from flwr.serverapp import Grid

from audit import COSIGNATURE_V1, NoteSigner, RunAuditLog, read_signer, sign_statement
from coordinator.errors import NoPartnersError
from coordinator.replies import NODE_OFFLINE, NOT_CONNECTED, sort_replies
from coordinator.server_app import main
from federation import (
    Action,
    Partner,
    Progress,
    Query,
    Record,
    RunDir,
    RunSettings,
    Status,
    TrainRequest,
)
from tests.coordinator.test_run_guard import _task_identity  # noqa: F401 (autouse fixture)

SUPERLINK = 1  # the node id Flower gives the SuperLink's own error replies
NODES = {2: "p0", 3: "p1", 4: "p2"}
WITNESSES = {p: NoteSigner.generate(f"witness.test/{p}", COSIGNATURE_V1) for p in NODES.values()}


def _metadata(src: int, kind: str, reply_to: str = "instruction") -> Metadata:
    return Metadata(
        run_id=1,
        message_id=f"reply-{src}-{time.monotonic_ns()}",
        src_node_id=src,
        dst_node_id=0,
        reply_to_message_id=reply_to,
        group_id="1",
        created_at=0.0,
        ttl=3600.0,
        message_type=kind,
    )


class VanishingGrid:
    """Three partners that train honestly (they send the global model back); ``gone`` nodes
    are not listed from the round ``gone_from`` on, and a message to one of them is answered
    by the SuperLink with Flower's node-unavailable error."""

    def __init__(self, gone: set[int], gone_from: int) -> None:
        self.gone, self.gone_from = gone, gone_from
        self.round = 0
        self.listed = True  # whether a gone node is still listed (as before Flower notices)
        self.silent_from: int | None = None  # from this round on, no train message is answered

    def _vanished(self, rnd: int) -> set[int]:
        return self.gone if rnd >= self.gone_from else set()

    def get_node_ids(self) -> list[int]:
        # asked before the next round's train messages go out
        hidden = self._vanished(self.round + 1) if not self.listed else set()
        return [n for n in NODES if n not in hidden]

    def send_and_receive(self, messages: Iterable[Message], timeout: float = 0) -> list[Message]:
        replies = []
        for i, msg in enumerate(messages):
            node, kind = msg.metadata.dst_node_id, msg.metadata.message_type
            if kind == MessageType.TRAIN and i == 0:
                self.round += 1
            msg.metadata.__dict__["_message_id"] = f"instruction-{node}-{time.monotonic_ns()}"
            if kind == MessageType.TRAIN and self.round >= (self.silent_from or self.round + 1):
                continue
            if node in self._vanished(self.round):
                error = Error(code=ErrorCode.NODE_UNAVAILABLE, reason="node unavailable")
                replies.append(
                    Message(
                        error=error, metadata=_metadata(SUPERLINK, kind, msg.metadata.message_id)
                    )  # type: ignore[call-overload]
                )
                continue
            replies.append(self._answer(msg, node, kind))
        return replies

    def _answer(self, msg: Message, node: int, kind: str) -> Message:
        partner: dict[str, Any] = {Partner.NAME: NODES[node], Partner.STATUS: Status.TRAINED}
        content = RecordDict()
        if kind == MessageType.QUERY:
            action = msg.content.config_records[Record.CONFIG][Query.ACTION]
            if action == Action.HELLO:
                partner[Partner.WITNESS_VKEY] = WITNESSES[NODES[node]].verifier.vkey
        else:
            arrays = msg.content.array_records[Record.ARRAYS]
            content[Record.ARRAYS] = ArrayRecord(arrays.to_torch_state_dict())
            content[Record.METRICS] = MetricRecord({"num-examples": 10})
            partner[Partner.COMMITMENT] = "0" * 64
            if kind == MessageType.TRAIN:  # an honest partner signs its statement of the round
                config = msg.content.config_records[Record.CONFIG]
                partner[Partner.UPDATE_HASH] = "a" * 64
                statement = {
                    "partner": NODES[node],
                    "origin": config[TrainRequest.ORIGIN],
                    "round": config[TrainRequest.SERVER_ROUND],
                    "update_hash": "a" * 64,
                    "data_commitment": "0" * 64,
                }
                signed = sign_statement(WITNESSES[NODES[node]], statement)
                partner[Partner.STATEMENT] = json.dumps(signed)
        content[Record.PARTNER] = ConfigRecord(partner)
        reply: Message = Message(content, metadata=_metadata(node, kind))  # type: ignore[call-overload]
        return reply


def _run(tmp_path: Path, grid: VanishingGrid) -> RunDir:
    run_dir = tmp_path / "runs" / "r1"
    settings = RunSettings(
        run_dir=str(run_dir), num_server_rounds=3, round_timeout=1.0, dp=False, evaluate_every=9
    )
    run_config: dict[str, Any] = settings.to_flower()
    context = Context(
        run_id=1, node_id=0, node_config={}, state=RecordDict(), run_config=run_config
    )
    main(cast("Grid", grid), context)
    return RunDir(run_dir)


def _rounds(files: RunDir) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in files.progress.read_text().splitlines()]
    return [e for e in events if e[Progress.EVENT] == Progress.ROUND]


def _audit_rounds(files: RunDir) -> list[dict[str, Any]]:
    key_file = files.key_file
    log = RunAuditLog.open(files.path, read_signer(key_file))
    try:
        return [r for r in log.records() if r["type"] == "round"]
    finally:
        log.close()


def test_a_partner_no_longer_connected_is_a_dropout_of_every_later_round(tmp_path: Path) -> None:
    grid = VanishingGrid(gone={4}, gone_from=2)
    grid.listed = False  # Flower already lists the node as offline: it is not asked at all

    files = _run(tmp_path, grid)

    rounds = _rounds(files)
    assert [r["participants"] for r in rounds] == [["p0", "p1", "p2"], ["p0", "p1"], ["p0", "p1"]]
    assert [r["dropouts"] for r in rounds] == [{}, {"p2": NOT_CONNECTED}, {"p2": NOT_CONNECTED}]
    assert [r["dropouts"] for r in _audit_rounds(files)] == [[], ["p2"], ["p2"]]


def test_a_sampled_partner_the_superlink_lost_is_a_dropout_under_its_name(tmp_path: Path) -> None:
    grid = VanishingGrid(gone={4}, gone_from=3)  # still listed: asked, and Flower answers

    files = _run(tmp_path, grid)

    rounds = _rounds(files)
    assert [r["dropouts"] for r in rounds] == [{}, {}, {"p2": NODE_OFFLINE}]
    assert rounds[2]["failures"] == ["p2"]
    assert [r["dropouts"] for r in _audit_rounds(files)] == [[], [], ["p2"]]


def test_a_partner_that_is_not_back_when_the_run_resumes_is_a_dropout_of_later_rounds(
    tmp_path: Path,
) -> None:
    crashing = VanishingGrid(gone=set(), gone_from=9)
    crashing.silent_from = 2  # round 2: no answer from anyone, the run stops on an error
    with pytest.raises(NoPartnersError):
        _run(tmp_path, crashing)
    restarted = VanishingGrid(gone={4}, gone_from=0)  # p2 never comes back
    restarted.listed = False

    files = _run(tmp_path, restarted)

    rounds = _rounds(files)
    assert [r["round"] for r in rounds] == [1, 2, 3]
    assert [r["dropouts"] for r in rounds[1:]] == [{"p2": NOT_CONNECTED}] * 2
    assert [r["dropouts"] for r in _audit_rounds(files)] == [[], ["p2"], ["p2"]]


def test_a_round_start_event_names_who_was_asked_and_who_was_not_connected(
    tmp_path: Path,
) -> None:
    grid = VanishingGrid(gone={4}, gone_from=2)
    grid.listed = False

    files = _run(tmp_path, grid)

    events = [json.loads(line) for line in files.progress.read_text().splitlines()]
    starts = [e for e in events if e[Progress.EVENT] == Progress.ROUND_START]
    assert [(e["round"], e["asked"], e["not_connected"]) for e in starts] == [
        (1, ["p0", "p1", "p2"], []),
        (2, ["p0", "p1"], ["p2"]),
        (3, ["p0", "p1"], ["p2"]),
    ]


def test_a_silent_sampled_node_is_a_dropout_for_want_of_a_reply() -> None:
    sent = [Message(RecordDict(), 7, MessageType.TRAIN)]

    out = sort_replies([], {}, names={7: "p7"}, sampled=[7], sent=sent, no_reply="no reply (1s)")

    assert out.dropout_reasons() == {"p7": "no reply (1s)"}


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (ErrorCode.NODE_UNAVAILABLE, NODE_OFFLINE),
        (ErrorCode.CLIENT_APP_RAISED_EXCEPTION, "the node's app failed (Flower error code"),
    ],
)
def test_an_error_reply_is_the_coordinators_words_never_the_error_text(
    code: int, reason: str
) -> None:
    sent = Message(RecordDict(), 7, MessageType.TRAIN)
    sent.metadata.__dict__["_message_id"] = "m7"
    error = Error(code=code, reason="ValueError: customer 00042 has amount 13.37")
    reply = Message(error=error, metadata=_metadata(SUPERLINK, MessageType.TRAIN, "m7"))  # type: ignore[call-overload]

    out = sort_replies([reply], {}, names={7: "p7"}, sampled=[7], sent=[sent])

    assert out.failures == ["p7"]
    assert out.dropout_reasons()["p7"].startswith(reason)
    assert "00042" not in out.describe() and "13.37" not in out.describe()


def test_a_partner_not_connected_was_not_asked() -> None:
    # Central DP withholds a round when fewer partners answer than were asked; one that was
    # not connected was not asked (as before dropouts were complete).
    out = sort_replies([], {}, names={7: "p7"}, sampled=[7], sent=[], no_reply="no reply")
    out.fail("p8", NOT_CONNECTED)

    assert out.sampled == 2 and out.asked == 1
    assert out.dropouts() == ["p7", "p8"]
