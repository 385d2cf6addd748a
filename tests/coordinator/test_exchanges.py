"""How many exchanges a run takes: the run start's cosign request rides on round 1's train
messages, a round's on its evaluate messages and the run end's on the model's homecoming, and
the partners' own code (``client_node``) cosigns and checks what they carry (the ServerApp
driven by a fake grid: no Flower processes)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import pytest
from flwr.app import Context, Message, MessageType, RecordDict
from flwr.serverapp import Grid

from audit import RunAuditLog, read_signer, write_signer
from client_node.client_app import _cosign
from client_node.homecoming import answer as model_home
from client_node.homecoming import model_path
from client_node.node_state import NodeState
from client_node.witnessing import SPLIT_VIEW_FILE, pin_log, sign_round_statement
from coordinator.errors import NoPartnersError
from coordinator.server_app import main
from federation import Action, Homecoming, Partner, Query, Record, RunDir, RunSettings
from tests.coordinator.test_dropouts import NODES, WITNESSES, VanishingGrid
from tests.coordinator.test_run_guard import _task_identity  # noqa: F401 (autouse fixture)


def _label(msg: Message) -> str:
    kind = msg.metadata.message_type
    if kind == MessageType.QUERY:
        kind = str(msg.content.config_records[Record.CONFIG][Query.ACTION])
    return kind + (" +cosign" if Record.COSIGN in msg.content.config_records else "")


class WitnessingGrid(VanishingGrid):
    """Three honest partners whose node states answer hello, cosign requests (a query of their
    own or riding on another message) and the model's homecoming with client_node's code; each
    exchange's message kinds are recorded."""

    def __init__(self, root: Path) -> None:
        super().__init__(gone=set(), gone_from=99)
        self.states: dict[int, NodeState] = {}
        for node, name in NODES.items():
            state = NodeState(root / name, root / f"{name}.key")
            state.root.mkdir(parents=True)
            write_signer(state.witness_key_path, WITNESSES[name])  # the keys statements use
            self.states[node] = state
        self.exchanges: list[list[str]] = []

    def send_and_receive(self, messages: Iterable[Message], timeout: float = 0) -> list[Message]:
        sent = list(messages)
        self.exchanges.append(sorted({_label(m) for m in sent}))
        replies = super().send_and_receive(sent, timeout)
        by_node = {m.metadata.dst_node_id: m for m in sent}
        for reply in replies:
            node = reply.metadata.src_node_id
            self._as_partner(by_node[node], node, reply)
        return replies

    def _as_partner(self, msg: Message, node: int, reply: Message) -> None:
        name, state = NODES[node], self.states[node]
        partner = reply.content.config_records[Record.PARTNER]
        rider = msg.content.config_records.get(Record.COSIGN)
        if rider is not None:
            partner.update(_cosign(state, name, rider))
        if msg.metadata.message_type == MessageType.TRAIN:  # the node keeps what it sent
            sent = json.loads(str(partner[Partner.STATEMENT]))["statement"]
            partner[Partner.STATEMENT] = json.dumps(sign_round_statement(state, name, sent))
        if msg.metadata.message_type != MessageType.QUERY:
            return
        config = msg.content.config_records[Record.CONFIG]
        action = config[Query.ACTION]
        if action == Action.HELLO:
            pin_log(state, name, str(config[Query.ORIGIN]), str(config[Query.COORDINATOR_VKEY]))
        elif action == Action.COSIGN:
            partner.update(_cosign(state, name, config))
        elif action == Homecoming.ACTION:
            partner.update(model_home(state, name, dict(config.items())))


def _run(tmp_path: Path, grid: WitnessingGrid, **settings: Any) -> RunDir:
    run_dir = tmp_path / "runs" / "r1"
    config = RunSettings(run_dir=str(run_dir), round_timeout=1.0, dp=False, **settings)
    run_config: dict[str, Any] = config.to_flower()
    context = Context(
        run_id=1, node_id=0, node_config={}, state=RecordDict(), run_config=run_config
    )
    main(cast("Grid", grid), context)
    return RunDir(run_dir)


def _cosigners_per_checkpoint(files: RunDir) -> dict[int, int]:
    log = RunAuditLog.open(files.path, read_signer(files.key_file))
    try:
        # each checkpoint's note: the coordinator's signature, then the cosignatures
        return {
            size: len(log.checkpoint(size).note.signatures) - 1 for size in range(1, log.size + 1)
        }
    finally:
        log.close()


def test_evaluate_and_homecoming_carry_the_cosign_requests_and_every_checkpoint_is_cosigned(
    tmp_path: Path,
) -> None:
    grid = WitnessingGrid(tmp_path / "nodes")

    files = _run(tmp_path, grid, num_server_rounds=2, evaluate_every=1)

    assert grid.exchanges == [
        ["hello"],
        ["train +cosign"],  # the run's start, cosigned before round 1's training
        ["evaluate +cosign"],  # round 1's record, cosigned as its model is evaluated
        ["train"],
        ["evaluate +cosign"],
        ["model-home +cosign"],  # the run's end, cosigned before the model is checked
    ]
    assert _cosigners_per_checkpoint(files) == {1: 3, 2: 3, 3: 3, 4: 3}
    for state in grid.states.values():  # each partner kept the model it checked
        assert model_path(state, "r1").read_bytes() == files.model.read_bytes()
    assert all(v.startswith("kept ") for v in _homecoming(files).values())


def test_a_round_that_does_not_evaluate_sends_its_cosign_request_alone(tmp_path: Path) -> None:
    grid = WitnessingGrid(tmp_path / "nodes")

    files = _run(tmp_path, grid, num_server_rounds=2, evaluate_every=9)

    assert grid.exchanges[1:] == [
        ["train +cosign"],
        ["cosign"],
        ["train"],
        ["evaluate +cosign"],  # the last round always evaluates
        ["model-home +cosign"],
    ]
    assert set(_cosigners_per_checkpoint(files).values()) == {3}


def _refusing(monkeypatch: pytest.MonkeyPatch, who: NodeState, *, times: int) -> list[str]:
    """The partner whose state is ``who`` refuses its next ``times`` cosign requests; the
    list returned names it once per refusal."""
    honest = _cosign
    refused: list[str] = []

    def answer(state: NodeState, name: str, config: Any) -> dict[str, Any]:
        if state == who and len(refused) < times:
            refused.append(name)
            return {Partner.COSIGN_REFUSAL: "not cosigned"}
        return honest(state, name, config)

    monkeypatch.setattr(sys.modules[__name__], "_cosign", answer)
    return refused


def _homecoming(files: RunDir) -> dict[str, str]:
    return dict(json.loads((files.path / "homecoming.json").read_text()))


def test_a_partner_that_refuses_to_cosign_is_left_out_and_the_others_still_cosign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = WitnessingGrid(tmp_path / "nodes")
    refused = _refusing(monkeypatch, grid.states[2], times=99)

    files = _run(tmp_path, grid, num_server_rounds=1, evaluate_every=1)

    assert set(_cosigners_per_checkpoint(files).values()) == {2}
    assert len(refused) == 3  # the start, round 1, the end
    outcomes = _homecoming(files)  # p0 did not vouch for the run's end: it keeps no model
    assert not outcomes["p0"].startswith("kept")
    assert outcomes["p1"].startswith("kept ") and outcomes["p2"].startswith("kept ")


def test_when_nobody_answers_round_1s_train_the_start_is_still_cosigned(tmp_path: Path) -> None:
    grid = WitnessingGrid(tmp_path / "nodes")
    grid.silent_from = 1  # no train reply: the run stops in round 1 with an error

    with pytest.raises(NoPartnersError):
        _run(tmp_path, grid, num_server_rounds=2, min_partners=3)

    # nobody answered the train messages that carried it: the request goes out again alone
    assert grid.exchanges[:3] == [["hello"], ["train +cosign"], ["cosign"]]
    assert _cosigners_per_checkpoint(RunDir(tmp_path / "runs" / "r1")) == {1: 3}


def test_partners_at_different_cosigned_sizes_each_get_their_own_proof(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # p2 (the last node) refuses the run start only, so from then on it is one checkpoint
    # behind the others: every carrier must take its own node's consistency proof.
    grid = WitnessingGrid(tmp_path / "nodes")
    refused = _refusing(monkeypatch, grid.states[4], times=1)

    files = _run(tmp_path, grid, num_server_rounds=2, evaluate_every=1)

    assert refused == ["p2"]
    assert _cosigners_per_checkpoint(files) == {1: 2, 2: 3, 3: 3, 4: 3}
    assert not any((s.root / SPLIT_VIEW_FILE).exists() for s in grid.states.values())
    assert all(v.startswith("kept ") for v in _homecoming(files).values())


class LosingGrid(WitnessingGrid):
    """p1's reply to round 1's evaluate message is lost after p1 cosigned what it carried."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.lost = False

    def send_and_receive(self, messages: Iterable[Message], timeout: float = 0) -> list[Message]:
        sent = list(messages)
        replies = super().send_and_receive(sent, timeout)
        if not self.lost and sorted({_label(m) for m in sent}) == ["evaluate +cosign"]:
            self.lost = True
            return [r for r in replies if r.metadata.src_node_id != 3]
        return replies


def test_a_lost_reply_after_the_node_cosigned_is_asked_again_and_nothing_forks(
    tmp_path: Path,
) -> None:
    grid = LosingGrid(tmp_path / "nodes")

    files = _run(tmp_path, grid, num_server_rounds=2, evaluate_every=1)

    assert grid.exchanges[2:4] == [["evaluate +cosign"], ["cosign"]]  # p1 asked again alone
    assert _cosigners_per_checkpoint(files) == {1: 3, 2: 3, 3: 3, 4: 3}
    assert all(v.startswith("kept ") for v in _homecoming(files).values())
