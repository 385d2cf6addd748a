"""Flower ClientApp of a partner node: thin; the work is in ``client_node.task``."""

from __future__ import annotations

from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from client_node.data import load_partner
from client_node.task import evaluate_round, train_round
from insight import RunSettings

app = ClientApp()


def _settings(context: Context) -> RunSettings:
    return RunSettings.from_mapping(dict(context.run_config))


@app.train()
def train(msg: Message, context: Context) -> Message:
    settings = _settings(context)
    data = load_partner(settings, dict(context.node_config))
    arrays = msg.content.array_records["arrays"]
    server_round = msg.content.config_records["config"].get("server-round", 0)
    if not isinstance(server_round, int):
        server_round = 0
    outcome = train_round(
        arrays.to_torch_state_dict(),
        data,
        settings.train_config(seed=settings.seed * 10_000 + server_round),
    )
    metrics = MetricRecord(dict(outcome.metrics))
    content = RecordDict(
        {
            "arrays": ArrayRecord(outcome.state),
            "metrics": metrics,
            "partner": ConfigRecord({"name": data.name}),
        }
    )
    return Message(content=content, reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    settings = _settings(context)
    data = load_partner(settings, dict(context.node_config))
    arrays = msg.content.array_records["arrays"]
    metrics = MetricRecord(dict(evaluate_round(arrays.to_torch_state_dict(), data)))
    return Message(content=RecordDict({"metrics": metrics}), reply_to=msg)
