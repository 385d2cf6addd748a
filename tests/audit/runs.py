"""Builders of realistic run directories for the audit tests (no test functions here)."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit import (
    COSIGNATURE_V1,
    NoteSigner,
    RunAuditLog,
    Witness,
    round_record,
    run_end_record,
    run_start_record,
    sign_statement,
    write_vkey,
)


def sha(text: str | bytes) -> str:
    """Hex SHA-256 of text or bytes."""
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


@dataclass
class Run:
    """A run directory and the keys that made it."""

    run_dir: Path
    coordinator: NoteSigner
    witness_keys: dict[str, NoteSigner]
    witnesses: dict[str, Witness] = field(default_factory=dict)


def start_record(witness_keys: dict[str, NoteSigner]) -> dict[str, Any]:
    """A run-start record naming the partners' cosigner keys."""
    return run_start_record(
        config_hash=sha("config"),
        code_hash=sha("code"),
        model_arch_hash=sha("arch"),
        dp={
            "noise_multiplier": 1.1,
            "max_grad_norm": 1.0,
            "target_delta": 1e-5,
            "accountant": "rdp",
        },
        partners={p: key.verifier.vkey for p, key in witness_keys.items()},
        started_at="2025-03-01T09:00:00Z",
        manifest_hash=sha("manifest"),
    )


def a_round(
    number: int,
    partners: list[str],
    *,
    spent: float = 0.5,
    budget: float = 4.0,
    dropouts: tuple[str, ...] = (),
    keys: dict[str, NoteSigner] | None = None,
    origin: str = "",
) -> dict[str, Any]:
    """Round ``number`` in which every partner spends ``spent`` epsilon; with ``keys``, each
    participant's signed statement (without DP terms) under ``dp``."""
    trained = [p for p in partners if p not in dropouts]
    statements = {
        p: sign_statement(
            keys[p],
            {
                "partner": p,
                "origin": origin,
                "round": number,
                "update_hash": sha(f"update {p} {number}"),
                "data_commitment": sha(f"data {p}"),
            },
        )
        for p in (trained if keys else [])
    }
    return round_record(
        round_number=number,
        participants=trained,
        dropouts=dropouts,
        update_hashes={p: sha(f"update {p} {number}") for p in trained},
        model_hash_before=sha(f"model {number - 1}"),
        model_hash_after=sha(f"model {number}"),
        epsilon_spent={p: spent for p in trained},
        epsilon_cumulative={p: spent * number for p in trained},
        epsilon_budget={p: budget for p in partners},
        data_commitments={p: sha(f"data {p}") for p in trained},
        started_at=f"2025-03-01T10:{number:02d}:00Z",
        ended_at=f"2025-03-01T10:{number:02d}:30Z",
        dp=statements,
    )


def cosign_latest(log: RunAuditLog, run: Run) -> None:
    """Every witness cosigns the newest checkpoint; the log stores the cosignatures."""
    latest = log.latest_checkpoint()
    assert latest is not None
    for witness in run.witnesses.values():
        size, _ = witness.latest(log.origin)
        line = witness.cosign(
            latest.text(), log.consistency_proof_for(size), timestamp=1_741_000_000
        )
        log.add_cosignature(latest.tree_size, line)


def make_run(
    run_dir: Path,
    *,
    rounds: int = 3,
    partners: tuple[str, ...] = ("hospital-a", "retailer-b"),
    end: bool = True,
) -> Run:
    """Create a run directory with ``rounds`` cosigned rounds and, if ``end``, a run end."""
    coordinator = NoteSigner.generate("fedinsight.test/run-1")
    keys = {p: NoteSigner.generate(f"witness.test/{p}", COSIGNATURE_V1) for p in partners}
    run = Run(run_dir, coordinator, keys)
    run.witnesses = {
        p: Witness(
            key,
            run_dir.parent / f"{run_dir.name}-{p}.json",
            {coordinator.name: coordinator.verifier},
        )
        for p, key in keys.items()
    }
    with RunAuditLog.create(run_dir, coordinator) as log:
        log.append_record(start_record(keys))
        cosign_latest(log, run)
        for number in range(1, rounds + 1):
            log.append_record(a_round(number, list(partners), keys=keys, origin=log.origin))
            cosign_latest(log, run)
        if end:
            log.append_record(
                run_end_record(
                    final_model_hash=sha(f"model {rounds}"),
                    rounds=rounds,
                    ended_at="2025-03-01T11:00:00Z",
                )
            )
            cosign_latest(log, run)
    return run


def trust_args(run: Run, folder: Path) -> list[str]:
    """``--vkey`` and one ``--witness-vkey`` per partner, as key files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    write_vkey(folder / "coordinator.vkey", run.coordinator.verifier) if not (
        folder / "coordinator.vkey"
    ).exists() else None
    args = ["--vkey", str(folder / "coordinator.vkey")]
    for partner, key in run.witness_keys.items():
        path = folder / f"{partner}.vkey"
        if not path.exists():
            write_vkey(path, key.verifier)
        args += ["--witness-vkey", str(path)]
    return args


def drop_guards(conn: sqlite3.Connection) -> None:
    """Drop every trigger, as an attacker holding the file would."""
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")


def officer_trust(folder: Path, coordinator_vkey: Path | None = None) -> list[str]:
    """``audit verify`` options of an officer's trust: the given coordinator key (or a fresh
    one) and a fresh partner witness key, written under ``folder``."""
    from audit import COSIGNATURE_V1, NoteSigner, write_vkey

    folder.mkdir(parents=True, exist_ok=True)
    if coordinator_vkey is None:
        coordinator_vkey = folder / "coordinator.vkey"
        write_vkey(coordinator_vkey, NoteSigner.generate("officer.test/log").verifier)
    witness = folder / "witness.vkey"
    write_vkey(witness, NoteSigner.generate("officer.test/p0", COSIGNATURE_V1).verifier)
    return ["--vkey", str(coordinator_vkey), "--witness-vkey", str(witness)]
