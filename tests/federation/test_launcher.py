"""The launcher finds the Flower app's folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from federation import find_app_dir


def test_the_app_dir_named_by_the_environment_comes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.flwr.app]\npublisher = 'x'\n")
    monkeypatch.setenv("FEDINSIGHT_APP_DIR", str(tmp_path))

    assert find_app_dir() == tmp_path


def test_a_folder_without_a_flower_app_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'other'\n")
    monkeypatch.setenv("FEDINSIGHT_APP_DIR", str(tmp_path))

    found = find_app_dir()

    assert found != tmp_path
    assert "tool.flwr.app" in (found / "pyproject.toml").read_text()


def test_a_cluster_run_refuses_a_cpu_count_before_submitting(tmp_path: Path) -> None:
    """A Ray cluster's nodes declare their CPUs; ``ray_cpus`` (``--partners-at-once``) is for
    the private Ray instance only, and is refused before ``flwr run`` starts."""
    from federation import LaunchError
    from federation.launcher import LocalSuperLink, flwr_run

    link = LocalSuperLink(control_address="127.0.0.1:1", flwr_home=tmp_path)
    with pytest.raises(LaunchError, match="ray_cpus is for a private Ray"):
        flwr_run(
            tmp_path,
            link,
            run_config={},
            num_supernodes=2,
            num_cpus_per_client=1,
            log_path=tmp_path / "flower.log",
            on_cluster=True,
            ray_cpus=1,
        )
    assert not (tmp_path / "flower.log").exists()


def test_simulate_refuses_partners_at_once_on_a_cluster_before_writing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    out = tmp_path / "runs"
    result = CliRunner().invoke(
        app,
        ["simulate", "--ray-address", "127.0.0.1:1", "--partners-at-once", "1", "--out", str(out)],
    )
    assert result.exit_code == 2
    assert "--partners-at-once" in result.output and "not with --ray-address" in result.output
    assert not out.exists()
