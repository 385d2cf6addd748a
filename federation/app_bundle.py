"""The folder ``flwr run`` bundles: pyproject.toml and the app's packages, nothing else.

``flwr run DIR`` builds the app bundle (FAB) by walking every file under ``DIR`` (``os.walk``,
and a ``resolve()`` per file) before its include and exclude patterns drop most of them. The
project root also holds ``.venv`` (54,553 files here) and ``.git``, so each submission spent
seconds of CPU listing files it then threw away: ``flwr build --app .`` took 12.6 s wall and
5.4 s CPU on this machine while tests ran beside it. `app_bundle_dir` gives Flower a copy of
the files the bundle can hold instead: ``pyproject.toml`` and the packages the wheel ships
(``[tool.hatch.build.targets.wheel] packages``). The bundle loses only files no ServerApp or
ClientApp reads (the README, ``docs/``, ``scripts/`` and the tests' helpers).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

from federation.errors import LaunchError

_NOT_BUNDLED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.gz", "*.parquet", "*.csv")


def app_packages(app_dir: Path) -> list[str]:
    """The packages of the app at ``app_dir``, as its pyproject.toml lists them for the wheel."""
    config = tomllib.loads((app_dir / "pyproject.toml").read_text())
    try:
        packages = config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    except KeyError:
        raise LaunchError(
            f"{app_dir / 'pyproject.toml'}: no [tool.hatch.build.targets.wheel] packages, "
            "so the app's packages are unknown"
        ) from None
    return [str(p) for p in packages]


@contextlib.contextmanager
def app_bundle_dir(app_dir: Path) -> Iterator[Path]:
    """A temporary copy of what Flower bundles from ``app_dir``; removed on exit.

    Pass it to ``flwr run`` in place of ``app_dir``: the bundle holds the same app files, and
    Flower lists a few hundred files instead of the whole project tree.
    """
    with tempfile.TemporaryDirectory(prefix="fedinsight-app-") as tmp:
        staged = Path(tmp) / app_dir.name
        staged.mkdir()
        shutil.copy2(app_dir / "pyproject.toml", staged / "pyproject.toml")
        for package in app_packages(app_dir):
            source = app_dir / package
            if not source.is_dir():
                raise LaunchError(f"{source}: the app package {package!r} is missing")
            shutil.copytree(source, staged / package, ignore=_NOT_BUNDLED, symlinks=False)
        yield staged
