"""Flower ClientApp of a partner node: thin; the work is in ``client_node.task``.

Replies carry, besides Flower's ``arrays`` and ``metrics`` records, a ``partner`` config record:
the partner's label, its ``status`` (``trained``, ``refused`` or ``error``), a refusal's or an
error's reason, and the Merkle root of the pseudonyms it trained on. Never a raw identifier.

Flower starts a fresh ClientApp process for every message on the deployment engine, so the
heavy modules (torch, pandas, Presidio) are imported in the handlers that need them: a query
(``hello``, ``cosign``) answers without them.

Before it trains or evaluates, a node that requires approval (``fedinsight node init`` sets
it) recomputes the run's manifest and refuses a run it has not approved. Bad partner data (a
malformed file, a missing column) is an ``error`` reply naming the file and line, never a crash.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flwr.app import ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from audit import AuditError
from client_node.app_failure import describe_failure
from client_node.approval import approval_refusal, requires_approval
from client_node.errors import ClientNodeError
from client_node.node_state import NodeState
from client_node.source import PartnerSource, resolve_source
from client_node.statement import signed_statement
from client_node.witnessing import cosign, cosigner, latest_size, pin_log, pinned_origins, refusal
from federation import (
    Action,
    Homecoming,
    NodeConfig,
    Partner,
    Query,
    Record,
    Status,
    TrainRequest,
)

if TYPE_CHECKING:
    from federation import RunSettings

app = ClientApp()
logger = logging.getLogger(__name__)

NOT_THE_MODEL = "the model in the coordinator's message is not this run's model"
timing = logging.getLogger("client_node.timing")  # one INFO line per train/evaluate message


def _log_to_stderr_unless_configured() -> None:
    """Give the root logger a stderr handler, for the project's records only, when nothing set
    up logging: so in Flower's ``flwr-clientapp`` process, whose stderr is the SuperNode's log.

    Without it, this node's warnings (a refused run and its reason) reached that log only
    through the ``logging.basicConfig`` Opacus runs when imported, and then with every Flower
    record printed a second time (an empty line per message). Flower prints its own records;
    the filter keeps them out. Opacus's ``basicConfig`` does nothing once a handler is set.
    """
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(lambda record: not record.name.startswith("flwr"))
    root.addHandler(handler)
    timing.setLevel(logging.INFO)


_log_to_stderr_unless_configured()

ConfigValue = (
    int
    | float
    | str
    | bytes
    | bool
    | list[int]
    | list[float]
    | list[str]
    | list[bytes]
    | list[bool]
)


def _reply(msg: Message, name: str, status: str, reason: str = "") -> Message:
    partner = ConfigRecord(
        {Partner.NAME: name, Partner.STATUS: status, Partner.REASON: reason[:2000]}
    )
    content = RecordDict({Record.PARTNER: partner, Record.METRICS: MetricRecord({})})
    return Message(content=content, reply_to=msg)


def _log_refusal(msg: Message, context: Context, reason: str) -> None:
    """A refusal and its reason, in this node's log (``node start`` shows this line: see
    ``cli.supernode_log``). The reason names terms and files, never a data value."""
    kind = msg.metadata.message_type
    logger.warning("refused the %s message of run %s: %s", kind, context.run_id, reason)


def _refuse(msg: Message, context: Context, name: str, reason: str) -> Message:
    _log_refusal(msg, context, reason)
    return _reply(msg, name, Status.REFUSED, reason)


def _data_errors() -> tuple[type[Exception], ...]:
    from anonymization import AnonymizationError
    from federation import FederationError
    from insight import InsightError

    return (ClientNodeError, FederationError, InsightError, AnonymizationError)


def _label(context: Context) -> str:
    return str(context.node_config.get(NodeConfig.PARTNER_NAME, "") or f"node-{context.node_id}")


def _admit(context: Context) -> tuple[RunSettings, PartnerSource, str]:
    """The run's settings, this node's source, and why it will not work for the run ('')."""
    from federation import RunSettings

    settings = RunSettings.from_mapping(dict(context.run_config))
    source = resolve_source(dict(context.run_config), dict(context.node_config))
    return settings, source, approval_refusal(source.state, dict(context.node_config), settings)


def _delegated(kind: str, msg: Message, context: Context) -> Message | None:
    """The node's worker's reply (``client_node.worker``), or None: then this process works."""
    from pathlib import Path

    from client_node.worker_link import delegate

    node_dir = str(context.node_config.get(NodeConfig.NODE_DIR, "") or "")
    return delegate(kind, msg, context, Path(node_dir)) if node_dir else None


def _answer(kind: str, msg: Message, context: Context) -> Message:
    """Handed to the node's worker when it runs one, else done here; one timing line in the
    node's log (``bench deployment`` reads it): the seconds from this process's start to the
    message, and the seconds the answer took."""
    import time

    import psutil

    started, wall = time.monotonic(), time.time()
    reply = _delegated(kind, msg, context)
    by = "the node's worker"
    if reply is None:
        by = "this app"
        reply = train_here(msg, context) if kind == "train" else evaluate_here(msg, context)
    timing.info(
        "%s message: answered by %s in %.2fs, %.2fs after this process started",
        kind,
        by,
        time.monotonic() - started,
        wall - psutil.Process().create_time(),
    )
    return reply


@app.train()
def train(msg: Message, context: Context) -> Message:
    """Train on the global model; first cosign the run's start when the message carries the
    request (``Record.COSIGN``, round 1): the answer goes in the reply's partner record."""
    cosigned = _cosign_rider(msg, context)
    return _with_cosign(_answer("train", msg, context), cosigned)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    """Evaluate the model; first cosign the round's checkpoint when the message carries the
    request (``Record.COSIGN``): the answer goes in the reply's partner record."""
    cosigned = _cosign_rider(msg, context)
    return _with_cosign(_answer("evaluate", msg, context), cosigned)


def _with_cosign(reply: Message, cosigned: dict[str, ConfigValue]) -> Message:
    """``reply`` (every train and evaluate answer has a partner record) with the cosign
    answer added to that record."""
    if cosigned and not reply.has_error():
        reply.content.config_records[Record.PARTNER].update(cosigned)
    return reply


def _cosign_rider(msg: Message, context: Context) -> dict[str, ConfigValue]:
    """The cosign answer to a request riding on ``msg`` (``Record.COSIGN``), else {}."""
    config = msg.content.config_records.get(Record.COSIGN)
    if config is None:
        return {}
    try:
        source = resolve_source(dict(context.run_config), dict(context.node_config))
        source.state.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    except (ClientNodeError, OSError) as exc:  # the message's own work reports it too
        return {Partner.COSIGN_REFUSAL: f"not cosigned: {type(exc).__name__}"}
    return {Partner.NAME: source.name, **_cosign(source.state, source.name, config)}


def _cosign(state: NodeState, name: str, config: ConfigRecord) -> dict[str, ConfigValue]:
    """Cosign the checkpoint ``config`` holds (``Query`` keys): ``Partner.COSIGNATURE``, or
    ``Partner.COSIGN_REFUSAL`` with the reason."""
    try:
        line = cosign(
            state,
            name,
            checkpoint=str(config[Query.CHECKPOINT]),
            proof=_hex_list(config.get(Query.PROOF, "")),
            coordinator_vkey=str(config.get(Query.COORDINATOR_VKEY, "")),
            leaf=bytes.fromhex(str(config.get(Query.LEAF, ""))),
            leaf_proof=_hex_list(config.get(Query.LEAF_PROOF, "")),
        )
    except (AuditError, ValueError, KeyError) as exc:
        reason = refusal(exc) if isinstance(exc, AuditError) else f"not cosigned: {exc}"
        logger.warning("refused to cosign: %s", reason)
        return {Partner.COSIGN_REFUSAL: reason}
    except Exception as exc:  # a malformed request must not cost the message it rides on
        logger.warning("refused to cosign a malformed request: %s", type(exc).__name__)
        logger.debug("the malformed cosign request's error", exc_info=True)
        return {Partner.COSIGN_REFUSAL: f"not cosigned: malformed request ({type(exc).__name__})"}
    return {Partner.COSIGNATURE: line}


def train_here(msg: Message, context: Context) -> Message:
    from client_node.data import load_partner
    from client_node.faults import update_arrays
    from client_node.node_settings import node_settings
    from client_node.task import train_round
    from federation import WireError, unpack_state

    node_config = dict(context.node_config)
    name = _label(context)
    try:
        settings, source, refusal = _admit(context)
        name = source.name
        if refusal:
            return _refuse(msg, context, name, refusal)
        data = load_partner(settings, node_config, source)
        config = msg.content.config_records[Record.CONFIG]
        server_round = config.get(TrainRequest.SERVER_ROUND, 0)
        outcome = train_round(
            unpack_state(msg.content.array_records[Record.ARRAYS]),
            data,
            settings,
            node_settings(settings, node_config, source.state),
            source.state,
            run_id=str(context.run_id),
            server_round=server_round if isinstance(server_round, int) else 0,
        )
    except WireError as exc:  # the coordinator's message, not the partner's data
        return _refuse(msg, context, name, f"{NOT_THE_MODEL}: {exc}")
    except _data_errors() as exc:
        logger.error("cannot train: %s", exc)
        return _reply(msg, name, Status.ERROR, str(exc))
    except Exception as exc:  # a fault of the app: the coordinator learns its kind, not its text
        logger.exception("the node's app failed while training")
        return _reply(msg, name, Status.FAILED, describe_failure(exc))
    if outcome.status == Status.REFUSED:
        _log_refusal(msg, context, outcome.reason)
    partner = ConfigRecord(
        {
            Partner.NAME: data.name,
            Partner.STATUS: outcome.status,
            Partner.REASON: outcome.reason,
            Partner.COMMITMENT: outcome.commitment,
            Partner.UPDATE_HASH: outcome.update_hash,
        }
    )
    metrics = MetricRecord(dict(outcome.metrics))
    content = RecordDict({Record.PARTNER: partner, Record.METRICS: metrics})
    if outcome.state is not None:
        fault = str(node_config.get(NodeConfig.INJECT_FAULT, "") or "")
        state, content[Record.ARRAYS] = update_arrays(outcome.state, fault)
        origin = str(config.get(TrainRequest.ORIGIN, ""))
        rnd = server_round if isinstance(server_round, int) else 0
        why = signed_statement(partner, source.state, data.name, origin, rnd, state, outcome)
        if why:
            return _reply(msg, data.name, Status.REFUSED, why)
    return Message(content=content, reply_to=msg)


def evaluate_here(msg: Message, context: Context) -> Message:
    from client_node.data import load_partner
    from client_node.node_settings import node_settings
    from client_node.task import evaluate_round
    from federation import WireError, unpack_state

    node_config = dict(context.node_config)
    name = _label(context)
    try:
        settings, source, refusal = _admit(context)
        name = source.name
        if refusal:
            return _refuse(msg, context, name, refusal)
        data = load_partner(settings, node_config, source)
        arrays = msg.content.array_records[Record.ARRAYS]
        config = msg.content.config_records.get(Record.CONFIG)
        server_round = config.get(TrainRequest.SERVER_ROUND, 0) if config is not None else 0
        outcome = evaluate_round(
            unpack_state(arrays),
            data,
            settings,
            node_settings(settings, node_config, source.state),
            source.state,
            run_id=str(context.run_id),
            server_round=server_round if isinstance(server_round, int) else 0,
        )
    except WireError as exc:  # the coordinator's message, not the partner's data
        return _refuse(msg, context, name, f"{NOT_THE_MODEL}: {exc}")
    except _data_errors() as exc:
        logger.error("cannot evaluate: %s", exc)
        return _reply(msg, name, Status.ERROR, str(exc))
    except Exception as exc:  # a fault of the app: the coordinator learns its kind, not its text
        logger.exception("the node's app failed while evaluating")
        return _reply(msg, name, Status.FAILED, describe_failure(exc))
    if outcome.status == Status.REFUSED:
        return _refuse(msg, context, name, outcome.reason)
    metrics = MetricRecord(dict(outcome.metrics))
    partner = ConfigRecord({Partner.NAME: data.name})
    content = RecordDict({Record.METRICS: metrics, Record.PARTNER: partner})
    return Message(content=content, reply_to=msg)


def _joins(context: Context, state: NodeState, name: str, origin: str) -> bool:
    """Whether this hello is the partner joining the run (it then pins the log). A simulated
    partner's home is made for its run: it joins at the run's first hello, once. A node that
    requires approval joined when it approved a manifest naming the log (never here); only
    for an approved manifest that names no log does it pin the first hello's origin and key.

    Notes:
        That fallback trusts the first hello of an approved run: a manifest made with
        ``coordinator manifest --folder --name`` closes it.
    """
    from client_node.approval import names_log
    from federation import RunSettings, run_manifest

    pins = pinned_origins(state, name)
    node_config = dict(context.node_config)
    if not requires_approval(state, node_config):
        return not pins
    if origin in pins:
        return False
    settings = RunSettings.from_mapping(dict(context.run_config))
    if approval_refusal(state, node_config, settings):
        return False
    return not names_log(state, str(run_manifest(settings)["manifest_sha256"]))


def _hex_list(value: object) -> list[bytes]:
    return [bytes.fromhex(h) for h in str(value or "").split(",") if h]


@app.query()
def query(msg: Message, context: Context) -> Message:
    """``hello``: the partner's label and witness key; ``cosign``: cosign a checkpoint;
    ``model-home``: check and keep the final model. A cosign request riding on the message
    (``Record.COSIGN``) is answered first."""
    source = resolve_source(dict(context.run_config), dict(context.node_config))
    state = source.state
    state.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    config = msg.content.config_records[Record.CONFIG]
    action = str(config.get(Query.ACTION, ""))
    reply: dict[str, ConfigValue] = {Partner.NAME: source.name}
    rider = msg.content.config_records.get(Record.COSIGN)
    if rider is not None:  # first: the homecoming checks the model against what it cosigned
        reply.update(_cosign(state, source.name, rider))
    if action == Action.HELLO:
        reply[Partner.WITNESS_VKEY] = cosigner(state, source.name).verifier.vkey
        origin = str(config.get(Query.ORIGIN, ""))
        vkey = str(config.get(Query.COORDINATOR_VKEY, ""))
        if vkey and _joins(context, state, source.name, origin):
            try:
                pin_log(state, source.name, origin, vkey)
            except AuditError as exc:
                reply[Partner.REFUSAL] = f"cannot pin the log: {exc}"
        reply[Partner.WITNESS_SIZE] = latest_size(state, source.name, origin)
    elif action == Action.COSIGN:
        reply.update(_cosign(state, source.name, config))
    elif action == Homecoming.ACTION:
        from client_node.homecoming import answer as model_home

        reply.update(model_home(state, source.name, dict(config.items())))
    else:
        reply[Partner.REFUSAL] = f"unknown query action {action!r}"
    return Message(content=RecordDict({Record.PARTNER: ConfigRecord(reply)}), reply_to=msg)
