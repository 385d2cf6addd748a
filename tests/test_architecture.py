"""The project's layering and size rules, checked by scanning the source (no imports run).

docs/ARCHITECTURE.md states the rules; this test is what keeps them true.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "anonymization",
    "audit",
    "cli",
    "client_node",
    "coordinator",
    "federation",
    "insight",
    "privacy",
    "simulations",
)
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 100


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _sources() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _import_time_nodes(tree: ast.Module) -> Iterator[ast.stmt]:
    """Statements run when the module is imported: module scope, outside ``if TYPE_CHECKING``."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If):
            guard = ast.unparse(node.test)
            if guard in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
                pending.extend(node.orelse)
                continue
            pending.extend([*node.body, *node.orelse])
        elif isinstance(node, ast.Try):
            pending.extend([*node.body, *node.orelse, *node.finalbody])
            for handler in node.handlers:
                pending.extend(handler.body)
        else:
            yield node


def _imported(module: str, path: Path, *, lazy: bool = True) -> Iterator[str]:
    """The project modules ``module`` imports: every import at any depth of its code, or with
    ``lazy=False`` only those that run when it is imported."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree) if lazy else _import_time_nodes(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                keep = len(anchor) - node.level + (1 if is_package else 0)
                base = ".".join([*anchor[:keep], *([base] if base else [])])
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in PACKAGES:
                yield name


@cache
def _module_graph(*, lazy: bool = True) -> dict[str, set[str]]:
    """Module -> project modules it imports (names resolved to modules that exist)."""
    sources = _sources()
    graph: dict[str, set[str]] = {}
    for module, path in sources.items():
        targets = set()
        for name in _imported(module, path, lazy=lazy):
            while name and name not in sources:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def _edges_from(prefix: str) -> Iterator[tuple[str, str]]:
    for module, targets in _module_graph().items():
        if module == prefix or module.startswith(prefix + "."):
            for target in sorted(targets):
                yield module, target


def _inside(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path, or None (iterative DFS, colours)."""
    colour = dict.fromkeys(graph, 0)
    for start in sorted(graph):
        if colour[start]:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        path = [start]
        colour[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                colour[node] = 2
            elif colour.get(child, 2) == 1:
                return [*path[path.index(child) :], child]
            elif colour.get(child) == 0:
                colour[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph[child]))))
    return None


@pytest.mark.parametrize(
    ("package", "allowed"),
    [
        ("audit.merkle", ("audit.merkle",)),
        ("audit", ("audit",)),
        ("insight", ("insight",)),
        ("coordinator", tuple(p for p in PACKAGES if p != "client_node")),
        ("client_node", tuple(p for p in PACKAGES if p != "coordinator")),
        ("federation", ("federation", "insight", "privacy", "audit", "anonymization")),
    ],
)
def test_package_imports_only_what_its_layer_allows(package: str, allowed: tuple[str, ...]) -> None:
    bad = [
        f"{source} imports {target}"
        for source, target in _edges_from(package)
        if not any(_inside(target, ok) for ok in allowed)
    ]
    assert not bad, "\n".join(bad)


def test_no_import_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {p: set() for p in PACKAGES}
    for module, targets in _module_graph().items():
        source = module.split(".")[0]
        graph[source] |= {t.split(".")[0] for t in targets} - {source}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_no_import_cycle_between_modules() -> None:
    # Between modules, a cycle is one that runs at import time; an import inside a function
    # (kept lazy for start-up time) or under TYPE_CHECKING does not make one. Between packages
    # every import counts (the test above).
    cycle = _cycle(_module_graph(lazy=False))
    assert cycle is None, " -> ".join(cycle or [])


def test_modules_and_functions_stay_small() -> None:
    too_big = []
    for module, path in _sources().items():
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines > MAX_MODULE_LINES and not path.name.startswith("bench_"):
            too_big.append(f"{module}: {lines} lines (at most {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_big.append(
                        f"{module}.{node.name} (line {node.lineno}): {length} lines "
                        f"(at most {MAX_FUNCTION_LINES})"
                    )
    assert not too_big, "\n".join(too_big)
