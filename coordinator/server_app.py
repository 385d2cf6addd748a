"""Flower ServerApp of the coordinator: thin; the round loop is ``coordinator.rounds``."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from coordinator.audit_trail import AuditTrail, load_or_create_signer
from coordinator.rounds import run_federation, summarize
from insight import RunSettings

app = ServerApp()
logger = logging.getLogger(__name__)


@app.main()
def main(grid: Grid, context: Context) -> None:
    settings = RunSettings.from_mapping(dict(context.run_config))
    run_dir = Path(settings.run_dir or f"runs/flwr-{context.run_id}").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    logger.info("run directory: %s", run_dir)
    audit = AuditTrail(run_dir, load_or_create_signer(settings, run_dir))
    try:
        result = run_federation(grid, settings, run_dir, audit)
    finally:
        audit.close()
    (run_dir / "federation.json").write_text(json.dumps(summarize(result), indent=2))
