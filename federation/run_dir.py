"""The layout of a run directory: every file name inside a run, in one place.

Layout::

    RUN_DIR/progress.jsonl          the coordinator's progress, one JSON event a line
    RUN_DIR/epsilon_ledger.jsonl    the coordinator's mirror of the ε each partner reported
    RUN_DIR/models/round-NNN.pt     the global model after each round (+ ``.sha256``)
    RUN_DIR/model.pt                the final global model (+ ``.sha256``)
    RUN_DIR/manifest.json           the run's manifest (what partners approve)
    RUN_DIR/run_config.json         the run config the run started with (a resubmission must match)
    RUN_DIR/run.lock                locked (``flock``) by the ServerApp while it runs the rounds
    RUN_DIR/submit.lock             locked by ``fedinsight coordinator run`` while it follows it
    RUN_DIR/federation.json         the coordinator's summary of the run
    RUN_DIR/audit/                  the audit log (its layout is ``audit.audit_paths``)
    RUN_DIR/partner-homes/          a simulation's partners: their data and state
    RUN_DIR/config.toml             a simulation's resolved run config
    RUN_DIR/partition.json          a simulation's split: customers per partner
    RUN_DIR/flower/, flower.log     a simulation's SuperLink folder and Flower's log
    RUN_DIR/report.json, .html      a simulation's report, with its PNG plots

The coordinator's signing key made for a run lives beside the run directory, never inside it
(``key_file``): the run directory is what a privacy officer is handed.
"""

from __future__ import annotations

import os
from pathlib import Path

from audit import audit_paths

__all__ = ["RunDir"]

_MODELS_DIR = "models"
_ROUND_MODEL = "round-{:03d}.pt"
_ROUND_MODEL_GLOB = "round-*.pt"


class RunDir:
    """Paths of one run directory (``path``); nothing is created or read here."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunDir) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def name(self) -> str:
        return self.path.name

    # -- the coordinator's files ----------------------------------------------------------

    @property
    def progress(self) -> Path:
        return self.path / "progress.jsonl"

    @property
    def epsilon_ledger(self) -> Path:
        return self.path / "epsilon_ledger.jsonl"

    @property
    def models_dir(self) -> Path:
        return self.path / _MODELS_DIR

    def round_model(self, server_round: int) -> Path:
        """The global model after round ``server_round`` (requires ``server_round >= 1``)."""
        return self.models_dir / _ROUND_MODEL.format(server_round)

    def round_models(self) -> dict[int, Path]:
        """The saved round models, ``{round: path}``, in path order."""
        return {
            int(path.stem.split("-")[1]): path
            for path in sorted(self.models_dir.glob(_ROUND_MODEL_GLOB))
        }

    @property
    def model(self) -> Path:
        return self.path / "model.pt"

    @property
    def manifest(self) -> Path:
        return self.path / "manifest.json"

    @property
    def run_config(self) -> Path:
        return self.path / "run_config.json"

    @property
    def lock(self) -> Path:
        return self.path / "run.lock"

    @property
    def submit_lock(self) -> Path:
        return self.path / "submit.lock"

    @property
    def federation_summary(self) -> Path:
        return self.path / "federation.json"

    @property
    def audit_log(self) -> Path:
        """The audit log's file (where ``audit`` keeps it)."""
        return audit_paths(self.path)[0]

    @property
    def audit_vkey(self) -> Path:
        """The coordinator's verifier key of the audit log (where ``audit`` keeps it)."""
        return audit_paths(self.path)[1]

    @property
    def key_file(self) -> Path:
        """The coordinator's signing key made for this run: ``<parent>/keys/<run>.key``."""
        return self.path.parent / "keys" / f"{self.path.name}.key"

    # -- a simulation's files ---------------------------------------------------------------

    @property
    def partner_homes(self) -> Path:
        return self.path / "partner-homes"

    def partition_home(self, partition_id: int) -> Path:
        """A plain ``flwr run .``'s partner home for ``partition_id`` (a split it makes)."""
        return self.partner_homes / f"partition-{partition_id}"

    @property
    def config(self) -> Path:
        return self.path / "config.toml"

    @property
    def partition(self) -> Path:
        return self.path / "partition.json"

    @property
    def flower_dir(self) -> Path:
        return self.path / "flower"

    @property
    def flower_log(self) -> Path:
        return self.path / "flower.log"

    @property
    def report_json(self) -> Path:
        return self.path / "report.json"

    @property
    def report_html(self) -> Path:
        return self.path / "report.html"

    @property
    def rounds_plot(self) -> Path:
        return self.path / "rounds.png"

    @property
    def by_frequency_plot(self) -> Path:
        return self.path / "by_frequency.png"

    @property
    def compare_plot(self) -> Path:
        return self.path / "compare.png"

    @property
    def privacy_plot(self) -> Path:
        return self.path / "privacy.png"
