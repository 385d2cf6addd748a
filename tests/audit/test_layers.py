"""The audit package's layers: merkle below run below service, FastAPI only in the service,
nothing from the rest of the project anywhere."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

AUDIT = Path(__file__).parents[2] / "audit"
PROJECT = {
    "anonymization",
    "cli",
    "client_node",
    "coordinator",
    "insight",
    "privacy",
    "simulations",
    "tests",
}
WEB = ("fastapi", "pydantic", "pydantic_settings", "starlette", "uvicorn")


def _imports(path: Path) -> set[str]:
    """Dotted names of every module ``path`` imports (relative imports are not used)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            names.add(str(node.module))
    return names


def _modules(subpackage: str) -> list[Path]:
    return sorted((AUDIT / subpackage).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("merkle"), ids=lambda p: p.name)
def test_merkle_imports_only_the_stdlib_cryptography_and_itself(path: Path) -> None:
    allowed = set(sys.stdlib_module_names) | {"cryptography", "audit"}
    for name in _imports(path):
        top = name.split(".")[0]
        assert top in allowed, f"{path.name} imports {name}"
        if top == "audit":
            assert name == "audit.merkle" or name.startswith("audit.merkle."), (
                f"{path.name} imports {name}"
            )


@pytest.mark.parametrize("path", _modules("run"), ids=lambda p: p.name)
def test_run_imports_merkle_but_never_the_service_or_the_web(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        assert top in set(sys.stdlib_module_names) | {"audit"}, f"{path.name} imports {name}"
        assert not name.startswith("audit.service"), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", sorted(AUDIT.rglob("*.py")), ids=lambda p: p.name)
def test_no_audit_module_imports_the_rest_of_the_project(path: Path) -> None:
    assert not {name.split(".")[0] for name in _imports(path)} & PROJECT


def test_importing_audit_and_the_offline_verifier_does_not_load_fastapi() -> None:
    probe = (
        "import sys, audit, audit.merkle, audit.run; "
        f"print(sorted(m for m in {WEB!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=AUDIT.parent
    )

    assert result.stdout.strip() == "[]"
