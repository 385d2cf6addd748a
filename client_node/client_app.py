"""Flower ClientApp of a partner node: thin; the work is in ``client_node.task``.

Replies carry, besides Flower's ``arrays`` and ``metrics`` records, a ``partner`` config record:
the partner's label, its ``status`` (``trained`` or ``refused``), a refusal's reason, and the
Merkle root of the pseudonyms it trained on. Never a raw identifier.
"""

from __future__ import annotations

from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from audit import SplitViewError
from client_node.data import load_partner, resolve_source
from client_node.node_settings import node_settings
from client_node.task import evaluate_round, train_round
from client_node.witnessing import cosign, cosigner, latest_size
from insight import RunSettings

app = ClientApp()


def _settings(context: Context) -> RunSettings:
    return RunSettings.from_mapping(dict(context.run_config))


@app.train()
def train(msg: Message, context: Context) -> Message:
    settings = _settings(context)
    node_config = dict(context.node_config)
    source = resolve_source(settings, node_config)
    data = load_partner(settings, node_config, source)
    state = source.state
    config = msg.content.config_records["config"]
    server_round = config.get("server-round", 0)
    outcome = train_round(
        msg.content.array_records["arrays"].to_torch_state_dict(),
        data,
        settings,
        node_settings(settings, node_config, state),
        state,
        run_id=str(context.run_id),
        server_round=server_round if isinstance(server_round, int) else 0,
    )
    partner = ConfigRecord(
        {
            "name": data.name,
            "status": outcome.status,
            "reason": outcome.reason,
            "commitment": outcome.commitment,
        }
    )
    content = RecordDict({"partner": partner, "metrics": MetricRecord(dict(outcome.metrics))})
    if outcome.state is not None:
        content["arrays"] = ArrayRecord(outcome.state)
    return Message(content=content, reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    settings = _settings(context)
    data = load_partner(settings, dict(context.node_config))
    arrays = msg.content.array_records["arrays"]
    metrics = MetricRecord(dict(evaluate_round(arrays.to_torch_state_dict(), data)))
    content = RecordDict({"metrics": metrics, "partner": ConfigRecord({"name": data.name})})
    return Message(content=content, reply_to=msg)


@app.query()
def query(msg: Message, context: Context) -> Message:
    """``hello``: the partner's label and witness key; ``cosign``: cosign a checkpoint."""
    settings = _settings(context)
    node_config = dict(context.node_config)
    source = resolve_source(settings, node_config)
    state = source.state.ensure()
    config = msg.content.config_records["config"]
    action = str(config.get("action", ""))
    reply: dict[
        str,
        int
        | float
        | str
        | bytes
        | bool
        | list[int]
        | list[float]
        | list[str]
        | list[bytes]
        | list[bool],
    ] = {"name": source.name}
    if action == "hello":
        reply["witness-vkey"] = cosigner(state, source.name).verifier.vkey
        reply["witness-size"] = latest_size(state, source.name, str(config.get("origin", "")))
    elif action == "cosign":
        proof_hex = str(config.get("proof", ""))
        try:
            reply["cosignature"] = cosign(
                state,
                source.name,
                checkpoint=str(config["checkpoint"]),
                proof=[bytes.fromhex(h) for h in proof_hex.split(",") if h],
                coordinator_vkey=str(config["coordinator-vkey"]),
            )
        except SplitViewError as exc:
            reply["refusal"] = f"split view: {exc}"
    else:
        reply["refusal"] = f"unknown query action {action!r}"
    return Message(content=RecordDict({"partner": ConfigRecord(reply)}), reply_to=msg)
