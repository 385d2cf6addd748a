"""The names both ends of the Flower wire agree on: records, their keys, actions and statuses.

The coordinator (``coordinator/``), the partner nodes (``client_node/``) and the researcher's
tools (``simulations/``) use these constants, never the strings themselves. The values are the
wire format: changing one breaks every node and run directory made before.

Each class is a namespace of plain ``str`` constants (not an enum: Flower's records take them
as the plain strings they are).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "Action",
    "Metric",
    "NodeConfig",
    "Partner",
    "Progress",
    "Query",
    "Record",
    "Status",
    "TrainRequest",
]


class Record:
    """The records of a message's ``RecordDict``."""

    ARRAYS: Final = "arrays"  # ArrayRecord: a model (the key Flower's strategies use)
    CONFIG: Final = "config"  # ConfigRecord sent to a node (the key Flower's strategies use)
    METRICS: Final = "metrics"  # MetricRecord of a train or evaluate reply
    PARTNER: Final = "partner"  # ConfigRecord of every reply: who answers, and how (``Partner``)


class TrainRequest:
    """Keys of the config record of a ``train`` message."""

    SERVER_ROUND: Final = "server-round"  # set by Flower's strategies
    LOCAL_EPOCHS: Final = "local-epochs"
    ORIGIN: Final = "origin"  # the audit log's origin: what the partner's statement names


class Query:
    """Keys of the config record of a ``query`` message."""

    ACTION: Final = "action"  # one of ``Action``
    ORIGIN: Final = "origin"  # hello: the audit log's origin line
    CHECKPOINT: Final = "checkpoint"  # cosign: the signed checkpoint's text
    PROOF: Final = "proof"  # cosign: consistency-proof hashes, hex, comma-separated
    COORDINATOR_VKEY: Final = "coordinator-vkey"  # hello, cosign: the log's verifier key
    LEAF: Final = "leaf"  # cosign: the newest record (hex), for the witness to check its entry
    LEAF_PROOF: Final = "leaf-proof"  # cosign: its inclusion-proof hashes, hex, comma-separated


class Action:
    """Values of ``Query.ACTION``."""

    HELLO: Final = "hello"
    COSIGN: Final = "cosign"


class Partner:
    """Keys of a reply's ``Record.PARTNER`` record. Never a raw identifier in any of them."""

    NAME: Final = "name"
    STATUS: Final = "status"  # one of ``Status``
    REASON: Final = "reason"  # why refused, or the error
    COMMITMENT: Final = "commitment"  # hex Merkle root of the pseudonyms trained on
    STATEMENT: Final = "statement"  # train: the partner's signed statement (JSON)
    WITNESS_VKEY: Final = "witness-vkey"  # hello: the node's cosigner key
    WITNESS_SIZE: Final = "witness-size"  # hello: the newest checkpoint size it cosigned
    COSIGNATURE: Final = "cosignature"  # cosign: the cosignature line
    REFUSAL: Final = "refusal"  # query: why it did not do what was asked


class Status:
    """Values of ``Partner.STATUS``."""

    TRAINED: Final = "trained"
    REFUSED: Final = "refused"  # privacy budget, split view, run not approved
    ERROR: Final = "error"  # the partner's data


class Metric:
    """Keys of a reply's ``Record.METRICS`` record (evaluation adds ``insight`` metric names
    with ``-`` for ``_``)."""

    NUM_EXAMPLES: Final = "num-examples"  # FedAvg's weight, and the evaluation weight
    UNIT_WEIGHT: Final = "unit-weight"  # 1: the equal weights of partner-level DP
    TRAIN_STEPS: Final = "train-steps"
    TRAIN_SECONDS: Final = "train-seconds"
    TRAIN_LOSS: Final = "train-loss"
    NOISE_MULTIPLIER: Final = "noise-multiplier"
    SAMPLE_RATE: Final = "sample-rate"
    TARGET_DELTA: Final = "target-delta"
    EPSILON_SPENT: Final = "epsilon-spent"
    EPSILON_CUMULATIVE: Final = "epsilon-cumulative"
    EPSILON_BUDGET: Final = "epsilon-budget"


class NodeConfig:
    """Keys of a partner's node config that its ClientApp reads (what the partner decides)."""

    NODE_DIR: Final = "node-dir"  # a node folder (``fedinsight node init``): all of the below
    DATA_PATH: Final = "data-path"  # or a partner's file, with
    STATE_DIR: Final = "state-dir"  # its state folder (keys, ledger, caches)
    SCHEMA_PATH: Final = "schema-path"  # and its column roles (also a run-config key)
    PARTNER_NAME: Final = "partner-name"
    EPSILON_BUDGET: Final = "epsilon-budget"
    REQUIRE_APPROVAL: Final = "require-approval"
    INJECT_FAULT: Final = "inject-fault"  # tests only: corrupt the update


class Progress:
    """The ``event`` of each line of a run's progress file (``RunDir.progress``)."""

    EVENT: Final = "event"
    TIME: Final = "time"  # Unix seconds of the line's writing
    START: Final = "start"
    RESUME: Final = "resume"
    ROUND: Final = "round"
    SKIPPED: Final = "skipped"
    STOPPED: Final = "stopped"
    END: Final = "end"
