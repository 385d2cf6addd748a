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
    "Homecoming",
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
    # ConfigRecord of a cosign request (``Query`` keys) that rides on another message, such as
    # the round's evaluate: the node cosigns, then answers the message, in one exchange
    COSIGN: Final = "cosign"


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
    UPDATE_HASH: Final = "update-hash"  # HMAC of the update under a salt the partner keeps
    STATEMENT: Final = "statement"  # train: the partner's signed statement (JSON)
    WITNESS_VKEY: Final = "witness-vkey"  # hello: the node's cosigner key
    WITNESS_SIZE: Final = "witness-size"  # hello: the newest checkpoint size it cosigned
    COSIGNATURE: Final = "cosignature"  # cosign: the cosignature line
    REFUSAL: Final = "refusal"  # query: why it did not do what was asked
    COSIGN_REFUSAL: Final = "cosign-refusal"  # cosign (query or ``Record.COSIGN``): why not


class Status:
    """Values of ``Partner.STATUS``."""

    TRAINED: Final = "trained"
    REFUSED: Final = "refused"  # privacy budget, split view, run not approved
    ERROR: Final = "error"  # the partner's data
    FAILED: Final = "failed"  # the node's app raised: the exception's type and literal-free text


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
    STATE_DIR: Final = "state-dir"  # its state folder (witness key, ledger, caches)
    PSEUDONYM_KEY: Final = "pseudonym-key"  # its pseudonymization key, outside the state folder
    SCHEMA_PATH: Final = "schema-path"  # and its column roles (also a run-config key)
    PARTNER_NAME: Final = "partner-name"
    EPSILON_BUDGET: Final = "epsilon-budget"  # inf: no budget (then runs without DP allowed)
    TARGET_DELTA: Final = "target-delta"  # the partner's fixed delta (default min(1e-5, 1/10n))
    DP_ENGINE: Final = "dp-engine"  # "fedinsight" (default) or "opacus": the per-sample step
    REQUIRE_APPROVAL: Final = "require-approval"
    INJECT_FAULT: Final = "inject-fault"  # tests only: corrupt the update


class Progress:
    """The ``event`` of each line of a run's progress file (``RunDir.progress``)."""

    EVENT: Final = "event"
    TIME: Final = "time"  # Unix seconds of the line's writing
    START: Final = "start"  # rounds, partners
    RESUME: Final = "resume"  # after_round, partners
    ROUND_START: Final = "round-start"  # round, asked, not_connected (names)
    ROUND: Final = "round"  # a released round: ``coordinator.RoundRecord``'s fields
    SKIPPED: Final = "skipped"  # round, reason, refusals, dropouts (name: reason), seconds
    STOPPED: Final = "stopped"  # the same; the run ends (every partner refused)
    FAILED: Final = "failed"  # reason: the run stopped on an error (a restart resumes it)
    END: Final = "end"  # final_model_sha256 (None: no model), stopped_early


class Homecoming:
    """The final model's trip home (``Action.MODEL_HOME`` queries): keys of the query's config
    record, and of the reply's ``Record.PARTNER`` record."""

    ACTION: Final = "model-home"  # value of ``Query.ACTION``
    RUN: Final = "run"  # the run's name: the node keeps ``models/<run>.pt``
    ORIGIN: Final = "origin"  # the audit log's origin line
    MODEL: Final = "model"  # bytes of the final model file
    MANIFEST: Final = "manifest"  # the run's manifest, JSON text
    RECORD: Final = "run-end-record"  # bytes of the log's last leaf, the run_end record
    TREE_SIZE: Final = "tree-size"  # the log's size; the record is its last leaf
    INCLUSION: Final = "inclusion-proof"  # hex hashes, comma-separated
    KEPT: Final = "kept-model-sha256"  # reply: the sha256 of the model the node kept
