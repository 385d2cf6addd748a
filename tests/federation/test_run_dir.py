"""The run directory's layout: the file names are an on-disk format, pinned here."""

from __future__ import annotations

from pathlib import Path

from federation import RunDir


def test_the_coordinators_files() -> None:
    run = RunDir("/x/runs/r1")

    assert run.progress == Path("/x/runs/r1/progress.jsonl")
    assert run.epsilon_ledger == Path("/x/runs/r1/epsilon_ledger.jsonl")
    assert run.models_dir == Path("/x/runs/r1/models")
    assert run.round_model(7) == Path("/x/runs/r1/models/round-007.pt")
    assert run.model == Path("/x/runs/r1/model.pt")
    assert run.manifest == Path("/x/runs/r1/manifest.json")
    assert run.federation_summary == Path("/x/runs/r1/federation.json")


def test_the_audit_files_are_where_audit_keeps_them() -> None:
    run = RunDir("/x/runs/r1")

    assert run.audit_log == Path("/x/runs/r1/audit/log.sqlite")
    assert run.audit_vkey == Path("/x/runs/r1/audit/coordinator.vkey")


def test_the_runs_own_signing_key_lives_beside_the_run_directory() -> None:
    assert RunDir("/x/runs/r1").key_file == Path("/x/runs/keys/r1.key")


def test_a_simulations_files() -> None:
    run = RunDir("/x/r1")

    assert run.partner_homes == Path("/x/r1/partner-homes")
    assert run.partition_home(2) == Path("/x/r1/partner-homes/partition-2")
    assert run.config == Path("/x/r1/config.toml")
    assert run.partition == Path("/x/r1/partition.json")
    assert run.flower_dir == Path("/x/r1/flower")
    assert run.flower_log == Path("/x/r1/flower.log")
    assert run.report_json == Path("/x/r1/report.json")
    assert run.report_html == Path("/x/r1/report.html")
    assert [p.name for p in (run.rounds_plot, run.by_frequency_plot)] == [
        "rounds.png",
        "by_frequency.png",
    ]
    assert [p.name for p in (run.compare_plot, run.privacy_plot)] == ["compare.png", "privacy.png"]


def test_round_models_are_the_saved_rounds_without_their_side_files(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.models_dir.mkdir()
    for rnd in (2, 1, 10):
        run.round_model(rnd).write_bytes(b"")
        run.round_model(rnd).with_name(run.round_model(rnd).name + ".sha256").write_text("")
    (run.models_dir / "round-003.pt.tmp").write_bytes(b"")

    models = run.round_models()

    assert list(models) == [1, 2, 10]
    assert models[10] == tmp_path / "models" / "round-010.pt"


def test_round_models_of_a_run_without_models_is_empty(tmp_path: Path) -> None:
    assert RunDir(tmp_path).round_models() == {}


def test_a_run_dir_is_its_path() -> None:
    assert RunDir("/x/r1") == RunDir(Path("/x/r1"))
    assert RunDir("/x/r1").name == "r1"
    assert len({RunDir("/x/r1"), RunDir("/x/r1")}) == 1
