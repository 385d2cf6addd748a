"""The partner's persistent privacy accountant: an append-only SQLite ledger of rounds.

Every round of private training the partner ever released is one row: which run and round, the
noise multiplier, sample rate and number of steps, and the cumulative epsilon after it. The
cumulative epsilon is always recomputed from all rows, across runs and restarts, so training twice
spends twice. The file lives at the partner, next to its data, never at the coordinator.

The ledger's δ is fixed once, by the partner, when its first round is recorded (or earlier by
``fix_delta``): every ε of the ledger is at that δ, and a round at any other δ is refused. A δ
chosen per run would let whoever chooses it "refund" spent ε by asking for a larger δ.

Notes:
    The ledger holds no personal data: run ids, round numbers, privacy parameters and times only.
    Rows cannot be updated or deleted through SQLite (triggers abort it); deleting the file
    itself forgets the spending, so it belongs with the partner's backups of its data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from privacy.accounting import HistoryEntry, epsilon_for
from privacy.config import Accountant
from privacy.errors import BudgetExceededError, LedgerError

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
LEDGER_GENESIS = "0" * 64
_CHAIN_CONTEXT = b"fedinsight-ledger/v1\n"
_RUN_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rounds (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    round INTEGER NOT NULL,
    noise_multiplier REAL NOT NULL CHECK (noise_multiplier > 0),
    sample_rate REAL NOT NULL CHECK (sample_rate > 0 AND sample_rate <= 1),
    steps INTEGER NOT NULL CHECK (steps >= 0),
    accountant TEXT NOT NULL,
    epsilon_after REAL NOT NULL,
    delta REAL NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS rounds_append_only_update BEFORE UPDATE ON rounds
BEGIN SELECT RAISE(ABORT, 'the privacy ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS rounds_append_only_delete BEFORE DELETE ON rounds
BEGIN SELECT RAISE(ABORT, 'the privacy ledger is append-only'); END;
"""


@dataclass(frozen=True)
class LedgerEntry:
    """One recorded round; ``epsilon_after`` is the cumulative epsilon at ``delta``."""

    seq: int
    run_id: str
    round: int
    noise_multiplier: float
    sample_rate: float
    steps: int
    accountant: str
    epsilon_after: float
    delta: float
    recorded_at: str


def ledger_link(prev: str, entry: LedgerEntry) -> str:
    """The head of the ledger's hash chain after ``entry``, given the head before it (hex):
    SHA-256 of ``fedinsight-ledger/v1\\n``, ``prev``, ``\\n`` and the JSON (sorted keys, no
    spaces) of the row's seq, noise_multiplier, sample_rate, steps, delta and accountant. The
    partner signs the head each round; a verifier recomputes it (``audit.ledger_link``)."""
    body = json.dumps(
        {
            "seq": entry.seq,
            "noise_multiplier": float(entry.noise_multiplier),
            "sample_rate": float(entry.sample_rate),
            "steps": int(entry.steps),
            "delta": float(entry.delta),
            "accountant": entry.accountant,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(_CHAIN_CONTEXT + prev.encode() + b"\n" + body.encode()).hexdigest()


class PrivacyLedger:
    """An append-only record of the partner's privacy spending in the SQLite file ``path``.

    Opens (creating when absent) the file in WAL mode with full synchronisation: a recorded
    round survives a crash once ``record`` returns. Each call opens its own connection, so one
    ledger object can be shared by threads and a file by processes.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
                conn.execute(
                    "INSERT OR IGNORE INTO ledger_meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
                row = conn.execute(
                    "SELECT value FROM ledger_meta WHERE key = 'schema_version'"
                ).fetchone()
        except (sqlite3.Error, OSError) as exc:
            raise LedgerError(f"{self.path}: cannot open the privacy ledger: {exc}") from exc
        if row is None or row[0] != str(SCHEMA_VERSION):
            raise LedgerError(
                f"{self.path}: ledger schema version {row and row[0]!r}, "
                f"expected {SCHEMA_VERSION!r}"
            )

    def history(self) -> list[HistoryEntry]:
        """``(noise_multiplier, sample_rate, steps)`` of every recorded round, oldest first."""
        return [(e.noise_multiplier, e.sample_rate, e.steps) for e in self.entries()]

    def entries(self) -> list[LedgerEntry]:
        """Every recorded round, oldest first."""
        try:
            with self._connect() as conn:
                rows = conn.execute(
                    "SELECT seq, run_id, round, noise_multiplier, sample_rate, steps, accountant, "
                    "epsilon_after, delta, recorded_at FROM rounds ORDER BY seq"
                ).fetchall()
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot read the privacy ledger: {exc}") from exc
        return [LedgerEntry(*row) for row in rows]

    def fixed_delta(self) -> float | None:
        """The δ this ledger is fixed at; None while it is not fixed yet.

        A ledger written before δ was fixed takes the δ of its first recorded round.
        """
        try:
            with self._connect() as conn:
                row = conn.execute(
                    "SELECT value FROM ledger_meta WHERE key = 'target_delta'"
                ).fetchone()
                if row is None:
                    row = conn.execute("SELECT delta FROM rounds ORDER BY seq LIMIT 1").fetchone()
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot read the privacy ledger: {exc}") from exc
        return None if row is None else float(row[0])

    def fix_delta(self, target_delta: float) -> float:
        """Fix the ledger's δ at ``target_delta`` unless it is fixed already; return the δ the
        ledger is fixed at (the earlier one wins: a δ is never changed once fixed).

        Requires ``0 < target_delta < 1``.
        """
        if not 0 < target_delta < 1:
            raise LedgerError(f"target_delta must be in (0, 1), got {target_delta!r}")
        fixed = self.fixed_delta()
        if fixed is not None:
            return fixed
        try:
            with self._connect() as conn:
                conn.execute(
                    "INSERT OR IGNORE INTO ledger_meta (key, value) VALUES ('target_delta', ?)",
                    (repr(float(target_delta)),),
                )
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot fix the ledger's delta: {exc}") from exc
        fixed = self.fixed_delta()
        assert fixed is not None
        return fixed

    def heads(self) -> list[str]:
        """The hash chain's head after each row, oldest first (``ledger_link``): rows cannot
        be changed or removed without changing every later head, across runs."""
        out, head = [], LEDGER_GENESIS
        for entry in self.entries():
            head = ledger_link(head, entry)
            out.append(head)
        return out

    def spent(self, *, target_delta: float, accountant: Accountant) -> float:
        """The cumulative epsilon of every recorded round at ``target_delta``."""
        return epsilon_for(self.history(), target_delta=target_delta, accountant=accountant)

    def record(
        self,
        *,
        run_id: str,
        round: int,
        noise_multiplier: float,
        sample_rate: float,
        steps: int,
        target_delta: float,
        accountant: Accountant,
        epsilon_budget: float | None = None,
    ) -> LedgerEntry:
        """Append one round in a single transaction and return it with its cumulative epsilon.

        With ``epsilon_budget`` the check and the append happen under one write lock: if the
        round would take the cumulative epsilon above the budget (another process may have
        recorded since ``plan_round``), nothing is written and ``BudgetExceededError`` is raised.
        Record a round before its model leaves the partner. The first round recorded fixes the
        ledger's δ (``fix_delta``); a round at another δ raises ``LedgerError``.
        """
        if not _RUN_ID.fullmatch(run_id):
            raise LedgerError(
                f"run_id must be 1-128 characters of letters, digits and . _ : - (got {len(run_id)}"
                " characters); it is an identifier of the run, never of a person"
            )
        if isinstance(round, bool) or not isinstance(round, int) or round < 0:
            raise LedgerError(f"round must be an integer >= 0, got {round!r}")
        new: HistoryEntry = (float(noise_multiplier), float(sample_rate), int(steps))
        fixed = self.fix_delta(target_delta)
        if fixed != target_delta:
            raise LedgerError(
                f"{self.path}: the ledger's delta is fixed at {fixed:.3g}; a round at delta "
                f"{target_delta:.3g} is not recorded"
            )
        try:
            with self._connect() as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    rows = conn.execute(
                        "SELECT noise_multiplier, sample_rate, steps FROM rounds ORDER BY seq"
                    ).fetchall()
                    history: list[HistoryEntry] = [(r[0], r[1], r[2]) for r in rows]
                    after = epsilon_for(
                        [*history, new], target_delta=target_delta, accountant=accountant
                    )
                    if epsilon_budget is not None and after > epsilon_budget:
                        before = epsilon_for(
                            history, target_delta=target_delta, accountant=accountant
                        )
                        raise BudgetExceededError(
                            epsilon_before=before,
                            epsilon_after=after,
                            epsilon_budget=epsilon_budget,
                            target_delta=target_delta,
                        )
                    recorded_at = datetime.now(UTC).isoformat(timespec="seconds")
                    cur = conn.execute(
                        "INSERT INTO rounds (run_id, round, noise_multiplier, sample_rate, steps, "
                        "accountant, epsilon_after, delta, recorded_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (run_id, round, *new, accountant, after, target_delta, recorded_at),
                    )
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot record the round: {exc}") from exc
        seq = cur.lastrowid
        assert seq is not None
        logger.info(
            "privacy ledger: round %d of run %s recorded, epsilon now %.4f (delta %.3g)",
            round,
            run_id,
            after,
            target_delta,
        )
        return LedgerEntry(seq, run_id, round, *new, accountant, after, target_delta, recorded_at)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, isolation_level=None, timeout=30.0)) as conn:
            conn.execute("PRAGMA synchronous=FULL")
            yield conn
