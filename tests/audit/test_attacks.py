"""The attack corpus: a malicious coordinator (holding its own signing key) against a real
simulated 3-partner run. Each attack must end in a failed verify or a refused cosignature."""

from __future__ import annotations

import copy
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from audit import (
    COSIGNATURE_V1,
    NoteSigner,
    RunAuditLog,
    SignatureError,
    TrustPolicy,
    VerificationError,
    Witness,
    audit_paths,
    read_signer,
    sign_statement,
    verify_run_dir,
)
from client_node.node_state import NodeState
from client_node.witnessing import check_own_entry, cosign
from federation import RunDir
from simulations.runner import simulation_trust
from tests.audit.runs import drop_guards

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_run(simulated_run: Path) -> Path:
    """The run shared with the officer's page tests (``tests/audit/conftest.py``); partner-0
    refused it, so the attacks below forge or check partner-1's entries."""
    return simulated_run


def _copy(run_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / run_dir.name
    shutil.copytree(run_dir, target)
    return target


def _coordinator(run_dir: Path) -> NoteSigner:
    return read_signer(RunDir(run_dir).key_file)


def _records(run_dir: Path) -> list[dict[str, Any]]:
    log = RunAuditLog.open(run_dir, _coordinator(run_dir))
    try:
        return log.records()
    finally:
        log.close()


def _forge(run_dir: Path, tmp_path: Path, records: list[dict[str, Any]], origin: str) -> Path:
    """A new log of ``records``, every checkpoint signed with the coordinator's real key."""
    forged = tmp_path / "forged" / run_dir.name
    forged.parent.mkdir(parents=True)
    with RunAuditLog.create(forged, _coordinator(run_dir), origin=origin) as log:
        for record in records:
            log.append_record(record)
    return forged


def _origin(run_dir: Path) -> str:
    con = sqlite3.connect(audit_paths(run_dir)[0])
    try:
        return str(con.execute("SELECT value FROM meta WHERE key = 'origin'").fetchone()[0])
    finally:
        con.close()


def _home(run_dir: Path, partner: str) -> NodeState:
    return NodeState(RunDir(run_dir).partner_homes / partner)


def test_the_honest_run_verifies_under_the_officers_trust(real_run: Path) -> None:
    report = verify_run_dir(real_run, trust=simulation_trust(real_run))

    assert report.policy is not None and report.policy.min_cosignatures == 3
    assert report.policy.max_epsilon_gap <= 1e-6 * max(
        e.logged for e in report.policy.epsilon.values()
    )


def test_stripped_cosignatures_fail(real_run: Path, tmp_path: Path) -> None:
    copy_dir = _copy(real_run, tmp_path)
    con = sqlite3.connect(audit_paths(copy_dir)[0])
    drop_guards(con)
    con.execute("DELETE FROM cosignatures")
    con.commit()
    con.close()

    with pytest.raises(VerificationError, match="quorum"):
        verify_run_dir(copy_dir, trust=simulation_trust(real_run))


def test_duplicated_cosignatures_do_not_make_up_a_missing_one(
    real_run: Path, tmp_path: Path
) -> None:
    copy_dir = _copy(real_run, tmp_path)
    honest = verify_run_dir(copy_dir, trust=simulation_trust(real_run)).cosignatures
    log = RunAuditLog.open(copy_dir, _coordinator(real_run))
    latest = log.latest_checkpoint()
    assert latest is not None
    log.close()
    home = RunDir(copy_dir).partner_homes / "partner-1"
    witness = Witness(read_signer(home / "witness.key"), home / "witness.json")
    lines = [witness.cosign(latest.text(), [], timestamp=t) for t in (1_800_000_000, 1_800_000_001)]
    con = sqlite3.connect(audit_paths(copy_dir)[0])
    drop_guards(con)
    # The attacker holding the file rebuilds the table without its primary key.
    con.executescript(
        "ALTER TABLE cosignatures RENAME TO old_cosignatures;"
        "CREATE TABLE cosignatures (tree_size INTEGER, cosigner TEXT, key_id INTEGER, line TEXT);"
        "INSERT INTO cosignatures SELECT * FROM old_cosignatures;"
        "DROP TABLE old_cosignatures;"
    )
    con.executemany(
        "INSERT INTO cosignatures VALUES (?, ?, ?, ?)",
        [(latest.tree_size, line.name, line.key_id, line.line) for line in lines],
    )
    con.commit()
    inflated = verify_run_dir(copy_dir, trust=simulation_trust(real_run)).cosignatures
    con.execute(
        "DELETE FROM cosignatures WHERE tree_size = ? AND cosigner = 'partner-2'",
        (latest.tree_size,),
    )
    con.commit()
    con.close()

    assert inflated == honest
    with pytest.raises(VerificationError, match="quorum"):
        verify_run_dir(copy_dir, trust=simulation_trust(real_run))


def test_rewritten_epsilon_resigned_by_the_coordinator_fails(
    real_run: Path, tmp_path: Path
) -> None:
    records = _records(real_run)
    record = next(r for r in records if r["type"] == "round")
    record["epsilon_cumulative"]["partner-1"] /= 2  # the record and the statement it copies
    record["dp"]["partner-1"]["statement"]["epsilon_cumulative"] /= 2
    forged = _forge(real_run, tmp_path, records, _origin(real_run))

    with pytest.raises(VerificationError, match="does not verify"):
        verify_run_dir(forged, trust=simulation_trust(real_run))


def test_the_coordinators_own_witness_keys_fail(real_run: Path, tmp_path: Path) -> None:
    records = _records(real_run)
    fakes = {p: NoteSigner.generate(f"x.test/{p}", COSIGNATURE_V1) for p in records[0]["partners"]}
    records[0]["partners"] = {p: key.verifier.vkey for p, key in fakes.items()}
    for record in records[1:]:
        for partner, signed in record.get("dp", {}).items():
            record["dp"][partner] = sign_statement(fakes[partner], signed["statement"])
    forged = _forge(real_run, tmp_path, records, _origin(real_run))

    with pytest.raises(VerificationError, match="not one the officer trusts"):
        verify_run_dir(forged, trust=simulation_trust(real_run))


def test_a_fork_under_a_new_origin_is_refused_by_a_real_witness(
    real_run: Path, tmp_path: Path
) -> None:
    home = _copy(real_run, tmp_path) / "partner-homes" / "partner-1"
    records = _records(real_run)
    records[1]["epsilon_cumulative"]["partner-1"] /= 2  # the lowered history
    records[1]["dp"]["partner-1"]["statement"]["epsilon_cumulative"] /= 2
    forked = _forge(real_run, tmp_path, records[:1], _origin(real_run) + "/v2")
    log = RunAuditLog.open(forked, _coordinator(real_run))
    checkpoint = log.latest_checkpoint()
    assert checkpoint is not None

    with pytest.raises(SignatureError, match="did not join"):
        cosign(
            NodeState(home),
            "partner-1",
            checkpoint=checkpoint.text(),
            proof=[],
            coordinator_vkey=_coordinator(real_run).verifier.vkey,
            leaf=log.log.leaf(0),
            leaf_proof=log.log.inclusion_proof(0),
        )
    log.close()


def test_an_unrelated_log_is_refused_by_a_witness(real_run: Path, tmp_path: Path) -> None:
    home = _copy(real_run, tmp_path) / "partner-homes" / "partner-1"
    evil = NoteSigner.generate("evil.example/log")
    with RunAuditLog.create(tmp_path / "evil", evil) as log:
        log.append_record(_records(real_run)[0])
        checkpoint = log.latest_checkpoint()
        assert checkpoint is not None
        with pytest.raises(SignatureError, match="did not join"):
            cosign(
                NodeState(home),
                "partner-1",
                checkpoint=checkpoint.text(),
                proof=[],
                coordinator_vkey=evil.verifier.vkey,
                leaf=log.log.leaf(0),
                leaf_proof=log.log.inclusion_proof(0),
            )


def test_dropping_the_last_round_fails_against_a_partners_last_checkpoint(
    real_run: Path, tmp_path: Path
) -> None:
    kept = RunAuditLog.open(real_run, _coordinator(real_run))
    last = kept.latest_checkpoint()
    assert last is not None
    note = last.text()
    kept.close()
    records = [r for r in _records(real_run) if r["type"] != "run_end"][:-1]
    forged = _forge(real_run, tmp_path, records, _origin(real_run))
    trust = simulation_trust(real_run)
    rollback = TrustPolicy(
        coordinator_key=trust.coordinator_key,
        witness_keys=trust.witness_keys,
        quorum=0,
        checkpoint=note,
        allow_unfinished=True,
    )

    with pytest.raises(VerificationError, match="rollback"):
        verify_run_dir(forged, trust=rollback)


def test_a_partners_altered_entry_is_refused_before_it_cosigns(
    real_run: Path, tmp_path: Path
) -> None:
    home = NodeState(_copy(real_run, tmp_path) / "partner-homes" / "partner-1")
    records = _records(real_run)
    altered = copy.deepcopy(records[1])
    fake = "ab" * 32
    altered["update_hashes"]["partner-1"] = fake
    altered["dp"]["partner-1"]["statement"]["update_hash"] = fake
    forged = _forge(real_run, tmp_path, [records[0], altered], _origin(real_run))
    log = RunAuditLog.open(forged, _coordinator(real_run))
    checkpoint = log.latest_checkpoint()
    assert checkpoint is not None

    with pytest.raises(VerificationError, match="not the statement sent"):
        check_own_entry(
            home, "partner-1", checkpoint.checkpoint, log.log.leaf(1), log.log.inclusion_proof(1)
        )
    log.close()


def test_a_statement_whose_epsilon_is_below_its_terms_fails(real_run: Path, tmp_path: Path) -> None:
    key = read_signer(RunDir(real_run).partner_homes / "partner-1" / "witness.key")
    records = _records(real_run)
    for record in records[1:]:
        signed = record.get("dp", {}).get("partner-1")
        if signed is None:
            continue
        statement = dict(signed["statement"])
        statement["epsilon"] /= 2
        record["dp"]["partner-1"] = sign_statement(key, statement)
    forged = _forge(real_run, tmp_path, records, _origin(real_run))
    trust = simulation_trust(real_run)
    no_quorum = TrustPolicy(trust.coordinator_key, trust.witness_keys, quorum=0)

    with pytest.raises(VerificationError, match="below"):
        verify_run_dir(forged, trust=no_quorum)


def test_the_ledger_command_shows_one_chain_and_refuses_a_reset(
    real_run: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from cli.audit_cmd import app

    runner = CliRunner()
    bundles = []
    for rnd in (1, 2):
        out = tmp_path / f"round-{rnd}.json"
        made = runner.invoke(app, ["proof", str(real_run), "--round", str(rnd), "--out", str(out)])
        assert made.exit_code == 0, made.output
        bundles.append(str(out))
    vkey = str(RunDir(real_run).partner_homes / "partner-1" / "witness.vkey")

    chain = runner.invoke(app, ["ledger", *bundles, "--witness-vkey", vkey])
    reset = runner.invoke(app, ["ledger", bundles[0], bundles[0], "--witness-vkey", vkey])

    assert chain.exit_code == 0, chain.output
    # Rows 1 to the second round's: the rounds, and the charged evaluations the statements list.
    assert re.search(r"1\.\.\d+ \(0 not shown\)", chain.output), chain.output
    assert "no reset" in chain.output
    assert reset.exit_code == 1 and "appears twice" in reset.output
