"""Benchmark: the same 3-partner run on the deployment engine and on the simulation engine,
and the time a coordinator takes to resume a run after being killed (-9).

    fedinsight bench deployment [--rounds 3] [--local-epochs 2] [--no-crash] [--no-worker]
                                [--json]

CDNOW is split iid into 3 partners (Parquet files). The deployment side runs everything with
fedinsight's own commands (``coordinator init/start/run``, ``node init/start/approve``): a
SuperLink with TLS and SuperNode authentication, 3 SuperNodes. The simulation side runs the
same app, run config and partner files with ``flwr run`` on a simulation SuperLink. Wall time
is from submission to the run's ``end`` record. The crash run kills the coordinator in round 2,
restarts it and resubmits; it reports the seconds from restart to the ``run_resume`` record and
to the end of the run.

Per message, each node's log has one timing line (``client_node.client_app``): who answered
(the node's worker or the ClientApp itself), the seconds the answer took, and the seconds from
the ClientApp process's start to the message. ``messages`` summarises them (medians by kind).
``--no-worker`` starts the nodes without their worker, so every message is worked in Flower's
fresh ClientApp process. With ``--json`` the last line is one object: ``{"deployment_s",
"simulation_s", "ratio"}``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from federation import Progress, RunDir, flwr_run, local_superlink
from simulations.deployment import LocalFederation

APP_DIR = Path(__file__).resolve().parents[1]


def _partner_files(folder: Path, partners: int, seed: int) -> dict[str, Path]:
    from federation import RunSettings
    from insight import load_dataset, partition_customers, write_event_file

    table = load_dataset("cdnow")
    split = partition_customers(
        table.events,
        "iid",
        num_partners=partners,
        seed=seed,
        calibration_end=RunSettings().calibration_timestamp,
    )
    files = {}
    for name, ids in sorted(split.partners.items()):
        path = folder / name / "raw.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_event_file(table.events[table.events["customer_id"].isin(set(ids))], path)
        files[name] = path
    return files


def _rounds(events: list[dict[str, Any]]) -> list[float]:
    return [
        round(float(e["seconds"]), 1) for e in events if e.get(Progress.EVENT) == Progress.ROUND
    ]


_TIMING = re.compile(
    r"(train|evaluate) message: answered by (the node's worker|this app) in ([0-9.]+)s, "
    r"([0-9.]+)s after this process started"
)


def message_timings(logs: list[Path]) -> dict[str, dict[str, float | int | str]]:
    """Medians of the nodes' timing lines, by message kind."""
    seen: dict[str, list[tuple[str, float, float]]] = {}
    for log in logs:
        for match in _TIMING.finditer(log.read_text(errors="replace")):
            kind, by, answer, start = match.groups()
            seen.setdefault(kind, []).append((by, float(answer), float(start)))
    return {
        kind: {
            "messages": len(rows),
            "by_worker": sum(1 for by, _, _ in rows if by != "this app"),
            "process_start_to_message_s": round(statistics.median(r[2] for r in rows), 2),
            "answer_s": round(statistics.median(r[1] for r in rows), 2),
        }
        for kind, rows in sorted(seen.items())
    }


def _deployment(
    work: Path, files: dict[str, Path], run_config: str, crash: bool, *, workers: bool = True
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with LocalFederation(work, workers=workers) as fed:
        fed.init()
        for name, path in files.items():
            fed.add_node(name, path, epsilon_budget=100.0)
        manifest = fed.manifest(run_config)
        for name in files:
            fed.approve(name, manifest)
        fed.start_coordinator()
        for name in files:
            fed.start_node(name)
        fed.wait_online(len(files))
        t0 = time.monotonic()
        fed.submit("bench", run_config).wait()
        out["wall_seconds"] = round(time.monotonic() - t0, 1)
        out["round_seconds"] = _rounds(fed.progress("bench"))
        out["messages"] = message_timings(
            [fed.nodes[n] / "logs" / "supernode.log" for n in sorted(files)]
        )
        if crash:
            fed.submit("crash", run_config)
            fed.wait_for("crash", Progress.ROUND, 1, timeout=1800)
            time.sleep(5)
            fed.kill("coordinator", signal.SIGKILL)
            fed.kill("run-crash", signal.SIGTERM)
            t1 = time.monotonic()
            out["restart_seconds"] = round(fed.start_coordinator(), 1)
            run = fed.submit("crash", run_config)
            fed.wait_for("crash", Progress.RESUME, 1, timeout=1800)
            out["resume_record_seconds"] = round(time.monotonic() - t1, 1)
            run.wait()
            out["resume_to_end_seconds"] = round(time.monotonic() - t1, 1)
            events = fed.progress("crash")
            out["crash_rounds"] = [
                e["round"] for e in events if e.get(Progress.EVENT) == Progress.ROUND
            ]
    return out


def _simulation(work: Path, files: dict[str, Path], run_config: str) -> dict[str, Any]:
    homes = work / "homes"
    for name, path in files.items():
        (homes / name).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, homes / name / "raw.parquet")
    config: dict[str, object] = {}
    for pair in run_config.split():
        key, value = pair.split("=", 1)
        config[key] = int(value)
    config.update(
        {"partners-dir": str(homes), "run-dir": str(work / "run"), "epsilon-budget": 100.0}
    )
    with local_superlink(work / "flower") as link:
        t0 = time.monotonic()
        flwr_run(
            APP_DIR,
            link,
            run_config=config,
            num_supernodes=len(files),
            num_cpus_per_client=1,
            log_path=work / "flwr-run.log",
        )
        wall = time.monotonic() - t0
    from coordinator.progress import read_progress

    return {
        "wall_seconds": round(wall, 1),
        "round_seconds": _rounds(read_progress(RunDir(work / "run").progress)),
    }


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--local-epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-crash", action="store_true", help="skip the resume measurement")
    parser.add_argument("--work", type=Path, default=None, help="keep the folders here")
    parser.add_argument("--no-worker", action="store_true", help="nodes without their worker")
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    args = parser.parse_args(argv)
    # SIGTERM (and SIGINT, ignored in background jobs) must unwind, so every process is stopped.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)
    work = args.work or Path(tempfile.mkdtemp(prefix="fedinsight-bench-deploy-"))
    run_config = (
        f"num-server-rounds={args.rounds} local-epochs={args.local_epochs} "
        f"min-partners={args.partners}"
    )
    files = _partner_files(work / "data", args.partners, args.seed)
    result = {
        "partners": args.partners,
        "run_config": run_config,
        "simulation": _simulation(work / "simulation", files, run_config),
        "deployment": _deployment(
            work / "deployment", files, run_config, not args.no_crash, workers=not args.no_worker
        ),
        "workers": not args.no_worker,
    }
    deployment_s = result["deployment"]["wall_seconds"]
    simulation_s = result["simulation"]["wall_seconds"]
    result["deployment_over_simulation"] = round(deployment_s / simulation_s, 2)
    print(json.dumps(result, indent=2))
    if args.json:
        summary = {"deployment_s": deployment_s, "simulation_s": simulation_s}
        print(json.dumps({**summary, "ratio": result["deployment_over_simulation"]}))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return result


if __name__ == "__main__":
    main()
