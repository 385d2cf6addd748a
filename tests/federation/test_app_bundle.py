"""`federation.app_bundle`: Flower bundles a lean copy of the app, not the project tree."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from federation import LaunchError, find_app_dir, flower_bin
from federation.app_bundle import app_bundle_dir, app_packages

ROOT = find_app_dir()


def test_the_copy_holds_pyproject_and_the_packages_and_is_removed_after() -> None:
    with app_bundle_dir(ROOT) as staged:
        top = sorted(p.name for p in staged.iterdir())
        assert top == sorted(["pyproject.toml", *app_packages(ROOT)])
        for package in app_packages(ROOT):
            want = {
                p.relative_to(ROOT).as_posix()
                for p in (ROOT / package).rglob("*.py")
                if "__pycache__" not in p.parts
            }
            got = {p.relative_to(staged).as_posix() for p in (staged / package).rglob("*.py")}
            assert got == want, package
        assert not list(staged.rglob("__pycache__"))
        assert (staged / "pyproject.toml").read_bytes() == (ROOT / "pyproject.toml").read_bytes()
    assert not staged.exists()


def test_flower_builds_the_app_from_the_copy(tmp_path: Path) -> None:
    with app_bundle_dir(ROOT) as staged:
        subprocess.run(
            [flower_bin("flwr"), "build", "--app", str(staged)],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            timeout=120,
        )
    (fab,) = tmp_path.glob("*.fab")
    names = set(zipfile.ZipFile(fab).namelist())
    assert {"client_node/client_app.py", "coordinator/server_app.py"} <= names
    assert not any(n.startswith((".venv/", ".git/", "tests/")) for n in names)


def test_an_app_without_a_package_list_is_refused_with_its_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.flwr.app]\npublisher = "x"\n')
    with (
        pytest.raises(LaunchError, match=r"pyproject.toml: no \[tool.hatch"),
        app_bundle_dir(tmp_path),
    ):
        pass


def test_a_listed_package_that_is_missing_is_named(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.hatch.build.targets.wheel]\npackages = ["gone"]\n'
    )
    with (
        pytest.raises(LaunchError, match="the app package 'gone' is missing"),
        app_bundle_dir(tmp_path),
    ):
        pass
