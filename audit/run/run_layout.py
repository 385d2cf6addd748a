"""Where a run directory keeps its audit files::

RUN_DIR/audit/log.sqlite            leaves, subtree hashes, checkpoints, cosignatures
RUN_DIR/audit/coordinator.vkey      the coordinator's verifier key (note key, type 0x01)
RUN_DIR/audit/proofs/round-N.json   proof bundles, when written
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["AUDIT_DIR", "LOG_FILE", "PROOFS_DIR", "VKEY_FILE", "audit_paths", "bundle_path"]

AUDIT_DIR = "audit"
LOG_FILE = "log.sqlite"
VKEY_FILE = "coordinator.vkey"
PROOFS_DIR = "proofs"


def audit_paths(run_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(log file, coordinator vkey file)`` of a run directory."""
    folder = Path(run_dir) / AUDIT_DIR
    return folder / LOG_FILE, folder / VKEY_FILE


def bundle_path(run_dir: str | os.PathLike[str], round_number: int) -> Path:
    """Default file of round ``round_number``'s proof bundle."""
    return Path(run_dir) / AUDIT_DIR / PROOFS_DIR / f"round-{round_number}.json"
