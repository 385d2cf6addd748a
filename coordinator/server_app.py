"""Flower ServerApp of the coordinator: thin; the round loop is ``coordinator.rounds``.

The ServerApp locks its run directory (``coordinator.run_guard``) before it opens the audit log:
a second ServerApp of the same run directory is refused and asks no partner for anything. A
finished run is refused, and so is a run config other than the one the run started with. A run
directory that holds an unfinished run's audit log, locked by no live process, is resumed (the
coordinator was restarted): submit the same run again, with the same ``run-dir``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from coordinator.audit_trail import AuditTrail, load_or_create_signer
from coordinator.prompt_grid import prompt
from coordinator.round_record import summarize
from coordinator.rounds import run_federation
from coordinator.run_guard import RunLock, check_not_finished, check_same_config, store_run_config
from federation import RunDir, RunSettings, run_manifest, write_manifest

app = ServerApp()
logger = logging.getLogger(__name__)


@app.main()
def main(grid: Grid, context: Context) -> None:
    settings = RunSettings.from_mapping(dict(context.run_config))
    run_dir = Path(settings.run_dir or f"runs/flwr-{context.run_id}").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    logger.info("run directory: %s", run_dir)
    with RunLock(RunDir(run_dir).lock, what=f"run {run_dir.name}"):
        run_locked(prompt(grid), settings, run_dir)


def run_locked(grid: Grid, settings: RunSettings, run_dir: Path) -> None:
    """The run in ``run_dir``, whose lock the caller holds: refused if it finished or its run
    config differs, resumed if it is unfinished, else started.

    Raises:
        RunFinishedError, ConfigMismatchError: nothing was run.
    """
    files = RunDir(run_dir)
    check_not_finished(run_dir)
    check_same_config(run_dir, settings)
    manifest = run_manifest(settings)
    audit = AuditTrail(run_dir, load_or_create_signer(settings, run_dir))
    if audit.resumed:
        logger.info("run directory holds an unfinished run: resuming it")
    else:
        write_manifest(manifest, files.manifest)
        store_run_config(run_dir, settings)
    try:
        result = run_federation(
            grid, settings, run_dir, audit, manifest_hash=str(manifest["manifest_sha256"])
        )
    finally:
        audit.close()
    files.federation_summary.write_text(json.dumps(summarize(result), indent=2))
