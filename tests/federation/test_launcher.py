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
