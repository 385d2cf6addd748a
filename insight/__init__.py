"""The customer-insight domain that partners and the coordinator share."""

from insight.baselines import (
    BGNBDParams,
    bgnbd_expected_purchases,
    bgnbd_prob_any,
    fit_bgnbd,
    naive_rate,
)
from insight.datasets import (
    DATASET_REGISTRY,
    ColumnMapping,
    Dataset,
    default_periods,
    load_cdnow,
    load_cdnow_sample,
    load_dataset,
    load_online_retail,
    load_table,
)
from insight.errors import DataError, InsightError
from insight.event_io import write_event_file
from insight.features import (
    FeatureConfig,
    WindowSet,
    build_prediction_windows,
    build_training_windows,
)
from insight.files import replace_atomically
from insight.metrics import evaluate
from insight.models import CustomerSequenceModel, ModelConfig, architecture_hash
from insight.partition import Partition, partition_customers
from insight.pipeline import PartnerData, evaluate_model, prepare_partner, score_predictions
from insight.protocol import (
    Periods,
    calibration_summary,
    collapse_daily,
    holdout_targets,
    truncate_events,
)
from insight.schema import EventTable, LoadReport, validate_events
from insight.training import Predictions, TrainConfig, predict, train

__all__ = [
    "DATASET_REGISTRY",
    "BGNBDParams",
    "ColumnMapping",
    "CustomerSequenceModel",
    "DataError",
    "Dataset",
    "EventTable",
    "FeatureConfig",
    "InsightError",
    "LoadReport",
    "ModelConfig",
    "Partition",
    "PartnerData",
    "Periods",
    "Predictions",
    "TrainConfig",
    "WindowSet",
    "architecture_hash",
    "bgnbd_expected_purchases",
    "bgnbd_prob_any",
    "build_prediction_windows",
    "build_training_windows",
    "calibration_summary",
    "collapse_daily",
    "default_periods",
    "evaluate",
    "evaluate_model",
    "fit_bgnbd",
    "holdout_targets",
    "load_cdnow",
    "load_cdnow_sample",
    "load_dataset",
    "load_online_retail",
    "load_table",
    "naive_rate",
    "partition_customers",
    "predict",
    "prepare_partner",
    "replace_atomically",
    "score_predictions",
    "train",
    "truncate_events",
    "validate_events",
    "write_event_file",
]
