"""The customer-insight domain that partners and the coordinator share.

Its names load their submodule when first used (PEP 562): a process that only reads a table
or a setting does not pay for torch and scipy, which the models and baselines bring.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from insight.errors import DataError, InsightError

if TYPE_CHECKING:
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

_WHERE = {
    "BGNBDParams": "insight.baselines",
    "bgnbd_expected_purchases": "insight.baselines",
    "bgnbd_prob_any": "insight.baselines",
    "fit_bgnbd": "insight.baselines",
    "naive_rate": "insight.baselines",
    "ColumnMapping": "insight.datasets",
    "DATASET_REGISTRY": "insight.datasets",
    "Dataset": "insight.datasets",
    "default_periods": "insight.datasets",
    "load_cdnow": "insight.datasets",
    "load_cdnow_sample": "insight.datasets",
    "load_dataset": "insight.datasets",
    "load_online_retail": "insight.datasets",
    "load_table": "insight.datasets",
    "write_event_file": "insight.event_io",
    "FeatureConfig": "insight.features",
    "WindowSet": "insight.features",
    "build_prediction_windows": "insight.features",
    "build_training_windows": "insight.features",
    "replace_atomically": "insight.files",
    "evaluate": "insight.metrics",
    "CustomerSequenceModel": "insight.models",
    "ModelConfig": "insight.models",
    "architecture_hash": "insight.models",
    "Partition": "insight.partition",
    "partition_customers": "insight.partition",
    "PartnerData": "insight.pipeline",
    "evaluate_model": "insight.pipeline",
    "prepare_partner": "insight.pipeline",
    "score_predictions": "insight.pipeline",
    "Periods": "insight.protocol",
    "calibration_summary": "insight.protocol",
    "collapse_daily": "insight.protocol",
    "holdout_targets": "insight.protocol",
    "truncate_events": "insight.protocol",
    "EventTable": "insight.schema",
    "LoadReport": "insight.schema",
    "validate_events": "insight.schema",
    "Predictions": "insight.training",
    "TrainConfig": "insight.training",
    "predict": "insight.training",
    "train": "insight.training",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'insight' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
