"""A ClientApp that raises: the CLI names the partner, the exception's type and its literal-free
message, and the logs, never what the exception quoted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from client_node.app_failure import describe_failure
from simulations.runner import why_no_model

ROOT = Path(__file__).resolve().parents[2]
SECRET_ID, SECRET_DAY = "c-4242", "1997-03-01"

# Loaded by every Python process of the run (PYTHONPATH), the hook swaps the partner's training
# step for one that raises with data in its message, the way a bug in a library might.
_HOOK = f"""
import importlib.abc, importlib.util, sys

class _Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "client_node.task":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)

            def train_round(*args, **kwargs):
                raise RuntimeError("no window for customer '{SECRET_ID}' on {SECRET_DAY}")

            module.train_round = train_round

        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, _Hook())
"""


def test_a_failure_is_described_by_its_type_without_the_literals_it_quoted() -> None:
    exc = RuntimeError(f"no window for customer '{SECRET_ID}' on {SECRET_DAY}, user a@b.org")

    text = describe_failure(exc)

    assert text == "RuntimeError: no window for customer … on …, user …"


def test_a_failure_without_a_message_is_its_type_and_a_foreign_type_is_qualified() -> None:
    class Broken(Exception):
        pass

    assert describe_failure(ZeroDivisionError()) == "ZeroDivisionError"
    assert describe_failure(Broken("x")).endswith("Broken: x")
    assert describe_failure(Broken("x")).startswith(__name__)


def test_why_no_model_names_each_partner_and_the_coordinators_reason() -> None:
    events = [
        {"event": "start", "rounds": 1, "partners": ["p0", "p1"]},
        {
            "event": "stopped",
            "round": 1,
            "reason": "no partner may train",
            "refusals": {"p1": "budget spent"},
            "dropouts": {"p0": "the node's app failed: RuntimeError: boom"},
        },
    ]

    assert why_no_model(events) == (
        "p0: the node's app failed: RuntimeError: boom; p1: refused: budget spent; "
        "the coordinator stopped the run: no partner may train"
    )


@pytest.mark.slow
def test_simulate_names_the_failing_partner_and_exception_but_no_data(tmp_path: Path) -> None:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_HOOK, encoding="utf-8")
    env = dict(os.environ, FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hook), str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "cli.main", "simulate", "--dataset", "synthetic"]
    command += ["--customers", "1500", "--partners", "2", "--rounds", "1", "--local-epochs", "1"]
    command += ["--no-dp", "--min-customers", "10", "--partners-at-once", "1"]
    command += ["--out", str(tmp_path / "runs")]

    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)

    said = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 1, said[-3000:]
    failure = "the node's app failed: RuntimeError: no window for customer … on …"
    for partner in ("partner-000", "partner-001"):
        assert f"{partner} failed ({failure})" in said
    assert "flower.log" in said
    assert SECRET_ID not in said and SECRET_DAY not in said
    (run_dir,) = [d for d in (tmp_path / "runs").iterdir() if (d / "progress.jsonl").exists()]
    for path in run_dir.glob("*.jsonl"):
        assert SECRET_ID not in path.read_text(encoding="utf-8")
