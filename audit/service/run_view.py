"""Read-only view of a run directory for the audit service: entries, proofs, rounds, epsilon.

Opens the SQLite file read-only and picks up the coordinator's appends on each call.
"""

from __future__ import annotations

import base64
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.merkle import AuditError, CheckpointStore, MerkleLog, SignedCheckpoint, SqliteStore
from audit.run import PolicyReport, TrustPolicy, audit_paths, parse_record, verify_run_dir
from audit.service.errors import LogNotVerifiedError

__all__ = ["RunView", "Verification", "b64"]


@dataclass(frozen=True)
class Verification:
    """Outcome of a full verification at one tree size."""

    ok: bool
    tree_size: int
    message: str
    policy: PolicyReport | None = None  # what the officer's trust found (None: none given)


def b64(value: bytes) -> str:
    """Standard base64 text of bytes."""
    return base64.b64encode(value).decode()


class RunView:
    """Thread-safe, read-only access to one run's audit log."""

    def __init__(self, run_dir: str | os.PathLike[str], trust: TrustPolicy | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.trust = trust  # the officer's, from whoever started the service
        log_path, self.vkey_path = audit_paths(self.run_dir)
        self._store = SqliteStore(log_path, readonly=True)
        self._log = MerkleLog.from_store(self._store)
        self._checkpoints = CheckpointStore(self._store)
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._verified: Verification | None = None

    def close(self) -> None:
        """Close the store."""
        self._store.close()

    @property
    def coordinator_vkey(self) -> str:
        """The coordinator's verifier key as published in the run directory."""
        return self.vkey_path.read_text(encoding="ascii").strip()

    def checkpoint(self) -> SignedCheckpoint | None:
        """Newest checkpoint with its cosignatures."""
        with self._lock:
            return self._checkpoints.latest()

    def size(self) -> int:
        """Current number of leaves."""
        with self._lock:
            return self._log.refresh()

    def entries(self, start: int, end: int) -> list[tuple[int, bytes]]:
        """Leaves ``[start, end)`` clipped to the log; requires ``0 <= start <= end``."""
        with self._lock:
            end = min(end, self._log.refresh())
            if start >= end:
                return []
            return list(enumerate(self._log.leaves(start, end), start))

    def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]:
        """Inclusion proof; requires ``0 <= index < tree_size <= size``."""
        with self._lock:
            self._log.refresh()
            return self._log.inclusion_proof(index, tree_size)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """Consistency proof; requires ``0 <= first <= second <= size``."""
        with self._lock:
            self._log.refresh()
            return self._log.consistency_proof(first, second)

    def records(self) -> list[dict[str, Any]]:
        """All records, decoded (new ones are decoded once and kept)."""
        with self._lock:
            size = self._log.refresh()
            if size > len(self._records):
                fresh = self._log.leaves(len(self._records), size)
                self._records.extend(parse_record(data) for data in fresh)
            return list(self._records)

    def rounds(self, tree_size: int | None = None) -> list[dict[str, Any]]:
        """The round records in order (of the first ``tree_size`` records if given)."""
        return [r for r in self.records()[:tree_size] if r["type"] == "round"]

    def epsilon(self, tree_size: int | None = None) -> dict[str, dict[str, Any]]:
        """Per partner: budget and the cumulative/spent epsilon after each round (of the first
        ``tree_size`` records if given)."""
        out: dict[str, dict[str, Any]] = {}
        for record in self.rounds(tree_size):
            for partner, cumulative in sorted(record["epsilon_cumulative"].items()):
                entry = out.setdefault(partner, {"budget": None, "series": []})
                entry["budget"] = record["epsilon_budget"].get(partner, entry["budget"])
                entry["series"].append(
                    {
                        "round": record["round"],
                        "cumulative": cumulative,
                        "spent": record["epsilon_spent"].get(partner, 0.0),
                    }
                )
        return out

    def verified_size(self) -> int:
        """The tree size of a passing full verification of the log as it is now.

        Raises:
            LogNotVerifiedError: the log fails verification (served as 409).
        """
        result = self.verification()
        if not result.ok:
            raise LogNotVerifiedError(result.message, result.tree_size)
        return result.tree_size

    def verification(self) -> Verification:
        """Full offline verification, rerun only when the log has grown."""
        size = self.size()
        cached = self._verified
        if cached is not None and cached.tree_size == size:
            return cached
        try:
            report = verify_run_dir(self.run_dir, trust=self.trust)
            under = "under the officer's trust" if self.trust else "against the log's own keys"
            result = Verification(
                True,
                report.tree_size,
                f"verified {report.tree_size} records, {report.checkpoints} "
                f"checkpoints, {report.cosignatures} cosignatures, {under}",
                report.policy,
            )
        except AuditError as exc:
            result = Verification(False, size, str(exc))
        self._verified = result
        return result
