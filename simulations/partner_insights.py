"""The simulation's last step at the partners: each one scores its own customers.

Every partner home that kept the final model (it came home at the run's end, see
``coordinator.homecoming``) scores its consented customers as of the end of calibration, with the
holdout length as the horizon, so the scores can be checked against what the customers did in the
holdout. The table and its report stay in ``partner-homes/<partner>/insights/``; the research
report gets counts only.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from client_node.errors import ClientNodeError
from client_node.homecoming import kept_runs
from client_node.node_state import NodeState
from client_node.scoring import ScoreRequest, score_node
from client_node.source import RAW_FILE
from federation import RunDir, RunSettings

logger = logging.getLogger(__name__)


def score_partners(run_dir: Path, settings: RunSettings, *, explain: bool = True) -> dict[str, Any]:
    """``{partner: {"customers": n, "kept_model": bool}}`` or ``{"error": why}`` per partner."""
    homes = RunDir(run_dir).partner_homes
    schema = Path(settings.schema_path) if settings.schema_path else None
    request = ScoreRequest(
        run=run_dir.name,
        horizon_weeks=settings.holdout_weeks,
        as_of=settings.calibration_timestamp,
        explain=explain,
    )
    out: dict[str, Any] = {}
    for home in sorted(p for p in homes.iterdir() if (p / RAW_FILE).exists()):
        state = NodeState(home)
        if run_dir.name not in kept_runs(state):
            out[home.name] = {"kept_model": False}
            continue
        try:
            scored = score_node(state, home / RAW_FILE, schema, request)
        except ClientNodeError as exc:
            logger.warning("%s could not score its customers: %s", home.name, exc)
            out[home.name] = {"kept_model": True, "error": str(exc)}
            continue
        out[home.name] = {"kept_model": True, "customers": scored.report["customers"]}
    return out
