"""The run's last step: the final global model goes home to every partner.

Each partner is sent the final model file, the run's manifest, the audit log's last leaf (the
``run_end`` record) and that leaf's inclusion proof in the checkpoint the partner cosigned; the
partner checks them (``client_node.homecoming``) and keeps the model or refuses it. Who kept it
and who refused (with the reason) is written to ``RUN_DIR/homecoming.json``. A run that released
no model sends nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

from flwr.app import ConfigRecord, Message, MessageType, RecordDict
from flwr.serverapp import Grid

from audit import parse_record
from coordinator.audit_trail import AuditTrail
from federation import Homecoming, Partner, Query, Record, RunDir

logger = logging.getLogger(__name__)

HOMECOMING_FILE = "homecoming.json"


def homecoming_messages(grid: Grid, run_dir: Path, audit: AuditTrail) -> list[Message]:
    """The final model's delivery to every connected node (none when the run released no model
    or the log does not end with its ``run_end`` record). ``AuditTrail.end`` sends them with the
    request to cosign that record, which each node does before it checks the delivery."""
    files = RunDir(run_dir)
    log = audit.log
    size = log.size
    if not files.model.exists() or size == 0:
        logger.info("no final model: nothing goes home")
        return []
    record = log.log.leaf(size - 1)
    if parse_record(record).get("type") != "run_end":
        logger.warning("the audit log does not end with a run_end record: nothing goes home")
        return []
    proof = log.log.inclusion_proof(size - 1, size)
    config = ConfigRecord(
        {
            Query.ACTION: Homecoming.ACTION,
            Homecoming.RUN: run_dir.name,
            Homecoming.ORIGIN: log.origin,
            Homecoming.MODEL: files.model.read_bytes(),
            Homecoming.MANIFEST: files.manifest.read_text(encoding="utf-8"),
            Homecoming.RECORD: record,
            Homecoming.TREE_SIZE: size,
            Homecoming.INCLUSION: ",".join(p.hex() for p in proof),
        }
    )
    return [
        Message(RecordDict({Record.CONFIG: config}), node_id, MessageType.QUERY)
        for node_id in grid.get_node_ids()
    ]


def record_homecoming(run_dir: Path, replies: Iterable[Message]) -> dict[str, str]:
    """``{partner: outcome}`` (``kept <sha256>`` or the refusal) from the nodes' replies to
    ``homecoming_messages``, also written to ``RUN_DIR/homecoming.json``."""
    outcomes: dict[str, str] = {}
    for reply in replies:
        if reply.has_error():
            logger.warning(
                "node %s: %s", reply.metadata.src_node_id, (reply.error.reason or "")[:300]
            )
            continue
        partner = reply.content.config_records[Record.PARTNER]
        name = str(partner.get(Partner.NAME, ""))
        kept = partner.get(Homecoming.KEPT)
        outcomes[name] = (
            f"kept {kept}"
            if isinstance(kept, str)
            else str(partner.get(Partner.REFUSAL, "no answer"))
        )
        logger.info("final model home to %s: %s", name, outcomes[name][:200])
    (run_dir / HOMECOMING_FILE).write_text(json.dumps(outcomes, indent=2, sort_keys=True))
    return outcomes
