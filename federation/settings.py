"""The federated run's hyperparameters, parsed once from ``[tool.flwr.app.config]``.

Both the coordinator and the client nodes read the same run config; this module turns its
kebab-case keys into one frozen dataclass so no code deep down reads keys ad hoc. The DP terms
the settings stand for are derived in one place, ``federation.dp.dp_terms``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import pandas as pd

from federation.dp import check_accountant
from federation.errors import SettingsError
from insight import FeatureConfig, Periods

if TYPE_CHECKING:
    from insight import TrainConfig

Scalar = bool | int | float | str | bytes


@dataclass(frozen=True)
class RunSettings:
    num_server_rounds: int = 5
    local_epochs: int = 2
    batch_size: int = 256
    learning_rate: float = 3e-3
    fraction_train: float = 1.0
    min_partners: int = 2
    seed: int = 42
    dataset: str = "cdnow"
    data_path: str = ""
    columns: str = ""
    split: str = "dirichlet:1.0"
    num_partners: int = 5
    # Training windows are cut from the public span [calibration-start, calibration-end], never
    # from a partner's own earliest event (one customer would move everyone's windows); events
    # before calibration-start are dropped, and counted.
    calibration_start: str = "1997-01-01"
    calibration_end: str = "1997-09-30"
    holdout_end: str = "1998-06-30"
    max_events: int = 32
    num_windows: int = 6
    run_dir: str = ""
    partners_dir: str = ""
    schema_path: str = ""
    # Differential privacy (privacy/): per-customer DP-SGD at every partner.
    dp: bool = True
    noise_multiplier: float = 0.0  # 0: calibrate from target-epsilon over the run's steps
    max_grad_norm: float = 20.0
    target_epsilon: float = 3.0
    target_delta: float = 1e-5  # must equal every partner's own fixed delta (else refused)
    dp_accountant: str = "rdp"
    epsilon_budget: float = 3.0  # a node's own budget (node config) wins; inf: no budget
    # Evaluation is a query on the partners' holdout data: its metrics are noised (Gaussian,
    # this noise multiplier; privacy.evaluation) and charged to each partner's ledger. The
    # run's number of evaluations (``planned_evaluations``) is a manifest term.
    evaluation_noise_multiplier: float = 20.0
    # Optional partner-level (central) DP: the coordinator clips each partner's update to
    # central-clipping-norm and adds Gaussian noise to the average (Flower's server-side strategy).
    central_dp: bool = False
    central_noise_multiplier: float = 1.0
    central_clipping_norm: float = 1.0
    # Audit log (audit/): the coordinator's signing key; empty = a key made for this run.
    audit_key: str = ""
    # Resilience (coordinator/): how long a round waits for replies; how often partners
    # evaluate (every n rounds, and always the last); how updates are combined ("fedavg",
    # "trimmed-mean" with trim-beta, or "median", all Flower strategies); the largest
    # L2 norm of (update - global model) accepted (0: no bound).
    round_timeout: float = 600.0
    evaluate_every: int = 1
    aggregation: str = "fedavg"
    trim_beta: float = 0.2
    max_update_norm: float = 50.0

    @classmethod
    def from_mapping(cls, config: Mapping[str, Scalar]) -> RunSettings:
        """Parse a Flower run config; unknown keys are ignored.

        Raises:
            SettingsError: a value of the wrong type, or settings ``validate`` refuses.
        """
        kwargs: dict[str, object] = {}
        for f in fields(cls):
            key = f.name.replace("_", "-")
            if key not in config:
                continue
            value = config[key]
            default = getattr(cls, f.name)
            try:
                if isinstance(default, bool):
                    if isinstance(value, str):
                        kwargs[f.name] = value.strip().lower() in ("1", "true", "yes", "on")
                    else:
                        kwargs[f.name] = bool(value)
                elif isinstance(default, int):
                    kwargs[f.name] = int(value)
                elif isinstance(default, float):
                    kwargs[f.name] = float(value)
                else:
                    kwargs[f.name] = str(value)
            except (TypeError, ValueError) as exc:
                raise SettingsError(
                    f"run config '{key}' = {value!r} is not a valid {type(default).__name__}"
                ) from exc
        settings = cls(**kwargs)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise ``SettingsError`` naming the first key whose value is out of range, not finite,
        inconsistent with another key's, or (``dp-accountant``) not an accountant of
        ``privacy``."""
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "epsilon_budget" and value == math.inf:
                continue  # no budget
            if isinstance(value, float) and not math.isfinite(value):
                raise SettingsError(f"run config '{f.name.replace('_', '-')}' must be finite")
        if self.num_server_rounds < 1:
            raise SettingsError("run config 'num-server-rounds' must be >= 1")
        if self.local_epochs < 1:
            raise SettingsError("run config 'local-epochs' must be >= 1")
        if not 0 < self.fraction_train <= 1:
            raise SettingsError("run config 'fraction-train' must be in (0, 1]")
        if self.round_timeout <= 0:
            raise SettingsError("run config 'round-timeout' must be > 0 seconds")
        if self.evaluate_every < 1:
            raise SettingsError("run config 'evaluate-every' must be >= 1")
        if self.aggregation not in ("fedavg", "trimmed-mean", "median"):
            raise SettingsError(
                "run config 'aggregation' must be 'fedavg', 'trimmed-mean' or 'median', "
                f"not {self.aggregation!r}"
            )
        if self.central_dp and self.aggregation != "fedavg":
            raise SettingsError(
                "run config 'central-dp' needs 'aggregation' = 'fedavg': its noise is calibrated "
                "to an average"
            )
        if not 0 <= self.trim_beta < 0.5:
            raise SettingsError("run config 'trim-beta' must be in [0, 0.5)")
        if self.max_update_norm < 0:
            raise SettingsError("run config 'max-update-norm' must be >= 0 (0: no bound)")
        if self.calibration_timestamp >= self.holdout_timestamp:
            raise SettingsError("run config 'calibration-end' must be before 'holdout-end'")
        if self.start_timestamp >= self.calibration_timestamp:
            raise SettingsError("run config 'calibration-start' must be before 'calibration-end'")
        if not 0 < self.target_delta < 1:
            raise SettingsError("run config 'target-delta' must be in (0, 1)")
        if not self.epsilon_budget > 0:
            raise SettingsError("run config 'epsilon-budget' must be > 0 (inf: no budget)")
        if not self.evaluation_noise_multiplier > 0:
            raise SettingsError("run config 'evaluation-noise-multiplier' must be > 0")
        check_accountant(self.dp_accountant)

    @property
    def start_timestamp(self) -> pd.Timestamp:
        return _parse_day(self.calibration_start, "calibration-start")

    @property
    def calibration_timestamp(self) -> pd.Timestamp:
        return _parse_day(self.calibration_end, "calibration-end")

    @property
    def holdout_timestamp(self) -> pd.Timestamp:
        return _parse_day(self.holdout_end, "holdout-end")

    @property
    def planned_evaluations(self) -> int:
        """The evaluations the run asks of each partner: after every ``evaluate-every``-th round
        and after the last (the coordinator's ``coordinator.rounds`` rule)."""
        rounds = range(1, self.num_server_rounds + 1)
        return sum(1 for r in rounds if r % self.evaluate_every == 0 or r == rounds[-1])

    @property
    def holdout_weeks(self) -> float:
        return (self.holdout_timestamp - self.calibration_timestamp) / pd.Timedelta(days=7)

    def periods(self) -> Periods:
        """The calibration and holdout periods, as ``insight`` takes them."""
        return Periods(
            calibration_end=self.calibration_timestamp,
            holdout_end=self.holdout_timestamp,
            calibration_start=self.start_timestamp,
        )

    def feature_config(self) -> FeatureConfig:
        return FeatureConfig(max_events=self.max_events, num_windows=self.num_windows)

    def train_config(self, *, seed: int) -> TrainConfig:
        from insight import TrainConfig  # insight.training imports torch: loaded when needed

        return TrainConfig(
            epochs=self.local_epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            seed=seed,
        )

    def to_flower(self) -> dict[str, Scalar]:
        """The kebab-case mapping, as ``flwr run --run-config`` and Flower contexts carry it."""
        return {f.name.replace("_", "-"): getattr(self, f.name) for f in fields(self)}


def _parse_day(text: str, key: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(text).normalize()
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"run config '{key}' = {text!r} is not a date (YYYY-MM-DD)") from exc
