"""Flower ServerApp of the coordinator: thin; the round loop is ``coordinator.rounds``.

A run directory that already holds an unfinished run's audit log is resumed (the coordinator
was restarted): submit the same run again, with the same ``run-dir``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from coordinator.audit_trail import AuditTrail, load_or_create_signer
from coordinator.round_record import summarize
from coordinator.rounds import run_federation
from federation import RunDir, RunSettings, run_manifest, write_manifest

app = ServerApp()
logger = logging.getLogger(__name__)


@app.main()
def main(grid: Grid, context: Context) -> None:
    settings = RunSettings.from_mapping(dict(context.run_config))
    run_dir = Path(settings.run_dir or f"runs/flwr-{context.run_id}").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    logger.info("run directory: %s", run_dir)
    files = RunDir(run_dir)
    manifest = run_manifest(settings)
    audit = AuditTrail(run_dir, load_or_create_signer(settings, run_dir))
    if audit.resumed:
        logger.info("run directory holds an unfinished run: resuming it")
    else:
        write_manifest(manifest, files.manifest)
    try:
        result = run_federation(
            grid, settings, run_dir, audit, manifest_hash=str(manifest["manifest_sha256"])
        )
    finally:
        audit.close()
    files.federation_summary.write_text(json.dumps(summarize(result), indent=2))
