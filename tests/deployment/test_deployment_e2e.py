"""The deployment engine end to end: a real SuperLink (TLS, SuperNode authentication, a
persistent database) and real SuperNodes on loopback, started with fedinsight's own commands.

One federation: three honest partners plus a partner with malformed data, one that sends a
poisoned update, one that has not approved the run, and one whose key is not on the allow-list;
the run's name is submitted again while it runs (refused) and once it finished (reported, not
run). A node killed in round 1 and the coordinator killed and resumed in round 2 run on the
federation of ``test_run_progress_e2e`` (each federation costs a minute to set up).

Every process is stopped by PID (with its process tree) when a test ends, pass or fail.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from federation import LaunchError
from simulations.deployment import LocalFederation

pytestmark = pytest.mark.slow

RUN_CONFIG = "num-server-rounds={rounds} local-epochs=1 min-partners={minimum} evaluate-every=2"


@pytest.fixture(scope="module")
def partner_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three partners of 300 CDNOW customers each (Parquet), and a malformed CSV."""
    from insight.datasets import load_cdnow

    events = load_cdnow().events
    ids = sorted(events["customer_id"].unique())
    folder = tmp_path_factory.mktemp("partner-data")
    files = {}
    for i in range(3):
        part = events[events["customer_id"].isin(set(ids[i * 300 : (i + 1) * 300]))]
        files[f"p{i}"] = folder / f"p{i}.parquet"
        part.to_parquet(files[f"p{i}"])
    bad = folder / "bad.csv"
    bad.write_text("customer_id,quantity,amount\n00001,1,10\n", encoding="utf-8")
    files["bad"] = bad
    return files


def _records(run_dir: Path) -> list[dict[str, Any]]:
    from audit import RunAuditLog, read_signer

    key = read_signer(run_dir.parents[1] / "audit.key")
    log = RunAuditLog.open(run_dir, key)
    try:
        return log.records()
    finally:
        log.close()


def _resubmit(fed: LocalFederation, name: str, run_config: str) -> subprocess.CompletedProcess[str]:
    """``fedinsight coordinator run`` in the foreground: its exit code and output."""
    from federation import flower_env

    return subprocess.run(
        [
            fed.fedinsight,
            "coordinator",
            "run",
            str(fed.coordinator),
            "--name",
            name,
            "--run-config",
            run_config,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**flower_env(fed.coordinator / "flwr-home"), "COLUMNS": "200"},
    )


def test_secure_federation_with_bad_partners(
    tmp_path: Path, partner_files: dict[str, Path]
) -> None:
    with LocalFederation(tmp_path / "fed") as fed:
        fed.init()
        for name in ("p0", "p1", "p2"):
            fed.add_node(name, partner_files[name])
        # Malformed data: `node check` and `node start` refuse it at once (`node init` too, see
        # test_deploy_cli); let through, it answers the run with an error naming file and column.
        bad = fed.add_node("bad", partner_files["bad"], check=False)
        for command in ("check", "start"):
            refused = fed.cli("node", command, str(bad), check=False, timeout=120)
            assert "missing required column 'timestamp'" in " ".join(refused.split()), refused
        fed.add_node("evil", partner_files["p0"])
        fed.add_node("shy", partner_files["p1"])
        fed.add_node("stranger", partner_files["p2"], allow=False)
        run_config = RUN_CONFIG.format(rounds=2, minimum=3)
        manifest = fed.manifest(run_config)
        for name in ("p0", "p1", "p2", "bad", "evil"):
            fed.approve(name, manifest)
        fed.start_coordinator()
        superlink_log = (fed.coordinator / "logs" / "superlink.log").read_text()
        assert "https://" in superlink_log  # TLS
        for name in ("p0", "p1", "p2", "bad", "shy"):
            fed.start_node(name, check=name != "bad")
        fed.start_node("evil", node_config='inject-fault="huge-norm"')
        stranger = fed.start_node("stranger")
        fed.wait_online(6)
        # A SuperNode whose key is not on the allow-list is refused and stops.
        assert stranger.wait(timeout=120) != 0
        stranger_log = (fed.root / "logs" / "stranger.out").read_text()
        stranger_log += (fed.nodes["stranger"] / "logs" / "supernode.log").read_text()
        assert "Failed to activate SuperNode" in stranger_log
        assert fed.online_nodes() == 6

        run = fed.submit("r1", run_config)
        # The same name submitted while it runs: refused at once, nothing submitted.
        fed.wait_for("r1", "start", timeout=300)
        twice = _resubmit(fed, "r1", run_config)
        assert twice.returncode == 1, twice.stdout + twice.stderr
        assert "a submission of run r1 is in progress" in " ".join(twice.stderr.split())
        assert run.wait(timeout=420) == 0, (fed.root / "logs" / "run-r1.out").read_text()[-3000:]
        events = fed.progress("r1")
        rounds = [e for e in events if e["event"] == "round"]
        assert [r["round"] for r in rounds] == [1, 2]
        first, second = rounds
        assert first["participants"] == ["p0", "p1", "p2"]
        assert "not approved" in first["refusals"]["shy"]
        assert str(partner_files["bad"]) in first["errors"]["bad"]
        assert "timestamp" in first["errors"]["bad"]
        assert "norm" in first["rejected"]["evil"]
        # Excluded after round 1: not asked again.
        assert second["participants"] == ["p0", "p1", "p2"]
        assert not second["refusals"] and not second["errors"] and not second["rejected"]
        assert second["evaluate"]["num-examples"] > 0

        run_dir = fed.run_dir("r1")
        records = _records(run_dir)
        start = records[0]
        assert start["manifest_hash"] == json.loads(manifest.read_text())["manifest_sha256"]
        assert set(start["partners"]) == {"p0", "p1", "p2", "bad", "evil", "shy"}
        round1 = records[1]
        assert round1["type"] == "round" and round1["rejected"] == ["evil"]
        assert set(round1["dropouts"]) == {"bad", "evil"} and round1["refusals"] == ["shy"]
        assert "evil" not in round1["update_hashes"]
        # shy never approved the run, so it never joined its log: it cosigns nothing.
        assert "verified" in fed.verify(run_dir, quorum=5).lower()
        with pytest.raises(LaunchError, match="missing: shy"):
            fed.verify(run_dir, quorum=6)
        # Every node keeps its pseudonymization key outside its folder, where `node init` put it.
        assert not [k for node in fed.nodes.values() for k in node.rglob("pseudonym.key")]
        assert (fed.root / "partner-keys" / "p0" / "pseudonym.key").is_file()
        # The partner with malformed data wrote nothing half.
        ingested = fed.nodes["bad"] / "ingested"
        assert not ingested.exists() or not any(ingested.iterdir())

        # The finished name submitted again, even with another run config: reported (exit 3),
        # nothing run, no record appended, no partner's ledger charged.
        from privacy import PrivacyLedger

        charged = len(PrivacyLedger(fed.nodes["p0"] / "privacy.sqlite").entries())
        again = _resubmit(fed, "r1", RUN_CONFIG.format(rounds=3, minimum=3))
        assert again.returncode == 3, again.stdout + again.stderr
        assert "run r1 already finished: 2 round(s)" in " ".join(again.stdout.split())
        assert fed.progress("r1") == fed.progress("r1")[: len(events)] == events
        assert len(_records(run_dir)) == len(records)
        assert len(PrivacyLedger(fed.nodes["p0"] / "privacy.sqlite").entries()) == charged
