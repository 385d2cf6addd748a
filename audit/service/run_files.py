"""The coordinator's own files beside the audit log, read for the officer's page only.

``RUN_DIR/manifest.json`` holds every term the partners approved; the run-start record holds
its hash, so the page shows the manifest's terms as the run's only when the hash matches.
``RUN_DIR/progress.jsonl`` holds, per round, why a partner refused, dropped out or had its
update rejected. Those reasons are not in the signed log: the page labels them as the
coordinator's report. Both files are optional, read within `json_limits`, and a file or line
that does not parse is left out, never an error.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit.merkle import AuditError
from audit.run.json_limits import MAX_BUNDLE_BYTES, loads_limited, read_json_file

__all__ = [
    "MANIFEST_FILE",
    "PROGRESS_FILE",
    "Manifest",
    "RoundNotes",
    "read_manifest",
    "read_notes",
]

MANIFEST_FILE = "manifest.json"
PROGRESS_FILE = "progress.jsonl"
_MAX_PROGRESS_BYTES = 64 << 20


@dataclass(frozen=True)
class Manifest:
    """A run's manifest and whether its hash is the one the run-start record states."""

    terms: dict[str, Any]
    computed_hash: str
    matches: bool


def manifest_digest(manifest: dict[str, Any]) -> str:
    """SHA-256 (hex) of the manifest's JSON with sorted keys and no spaces, without its own
    ``manifest_sha256`` field: the hash partners approve and the run-start record carries."""
    body = {key: value for key, value in manifest.items() if key != "manifest_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def read_manifest(run_dir: Path, logged_hash: str | None) -> Manifest | None:
    """The run directory's manifest, or None when there is none or it does not parse."""
    path = run_dir / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        data = read_json_file(path, max_bytes=1 << 20)
    except (AuditError, OSError):
        return None
    if not isinstance(data, dict):
        return None
    digest = manifest_digest(data)
    return Manifest(data, digest, logged_hash is not None and digest == logged_hash)


@dataclass
class RoundNotes:
    """What the coordinator reported about one round, by partner: ``reasons`` maps a partner
    to ``(kind, reason)``, kind one of refused, bad data, update rejected, no reply;
    ``withheld`` is why the round released no model, if it did not."""

    reasons: dict[str, tuple[str, str]] = field(default_factory=dict)
    withheld: str = ""


_KINDS = (("refusals", "refused"), ("errors", "bad data"), ("rejected", "update rejected"))


def _round_notes(event: dict[str, Any], notes: RoundNotes) -> None:
    for key, kind in _KINDS:
        reasons = event.get(key)
        if isinstance(reasons, dict):
            for partner, reason in reasons.items():
                notes.reasons[str(partner)] = (kind, str(reason or "no reason given"))
    failures = event.get("failures")
    if isinstance(failures, list):
        for partner in failures:
            notes.reasons.setdefault(str(partner), ("no reply", "the node sent no answer"))


def read_notes(run_dir: Path) -> dict[int, RoundNotes]:
    """Per round number, the coordinator's reasons from ``progress.jsonl`` (empty when the
    file is absent or unreadable)."""
    path = run_dir / PROGRESS_FILE
    try:
        with path.open("rb") as stream:
            data = stream.read(_MAX_PROGRESS_BYTES)
    except OSError:
        return {}
    out: dict[int, RoundNotes] = {}
    for line in data.splitlines():
        try:
            event = loads_limited(line, where=PROGRESS_FILE, max_bytes=MAX_BUNDLE_BYTES)
        except AuditError:
            continue
        number = event.get("round") if isinstance(event, dict) else None
        if isinstance(number, bool) or not isinstance(number, int):
            continue
        notes = out.setdefault(number, RoundNotes())
        if event.get("event") == "round":
            _round_notes(event, notes)
        elif event.get("event") in ("skipped", "stopped"):
            notes.withheld = f"{event['event']}: {event.get('reason', '')}"
    return out
