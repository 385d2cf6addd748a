"""Benchmark: a simulation at scale, synthetic federations of growing size on this machine.

    fedinsight bench scale [--json] [--customers 100000,300000,1000000] [--partners 100]

For each size, a synthetic federation fitted to CDNOW (``insight.datasets.synthetic``) is
generated first (timed apart, and reused from ``--work`` when it is there), then
``fedinsight simulate --dataset synthetic`` runs it in a process of its own: DP-SGD at every
partner, ``--rounds`` rounds of ``--local-epochs`` local epochs, the baselines, the partners'
scoring, the audit verification and the report, as a researcher runs it.

Two steps of a simulation are left out unless asked for, since they measure something else than
the federation's scale: ``--value-of-federation`` (every partner trains the model alone as well,
one partner after the other) and ``--explain`` (Captum's drivers in the partners' scores;
``fedinsight bench score`` measures them on their own). The printed figures say which ran.

Per size it prints:

- ``wall_s``: the simulate command's wall time, start to exit (the generation not included);
- ``peak_rss_gib``: the peak over time of the summed resident memory of the whole process tree
  (the command, the SuperLink, Flower's simulation process, Ray and its actors), sampled every
  half second. Pages shared between processes are counted once per process: an upper bound;
- ``peak_rss_command_gib``: the simulate command's own peak, where the researcher's pooled view
  lives (the centralized and BG/NBD baselines, the membership test), growing with the customers;
- ``peak_rss_partners_gib``: the peak summed RSS of the partners' Ray actors, each holding only
  the partner it serves (see ``client_node.data``): what the federation itself needs;
- ``seconds_per_customer``: ``wall_s`` over the customers generated;
- ``federated_s`` and ``round_s``: the Flower run's share of it, from the run's first progress
  record to its last, and each round's seconds (the rest is start-up, the partners' scoring,
  the baselines on pooled data, the audit verification and the report);
- ``timing``: the report's own timing (the whole Flower run, the centralized baseline's
  training, a round's mean), and ``value_of_federation`` and ``explain``, the steps asked for;
- ``audit_log_bytes`` (the run's audit folder), ``ledger_bytes`` (the coordinator's epsilon
  ledger) and ``partner_ledgers_bytes`` (every partner's privacy ledger, summed).

With ``--json`` the last line printed is one JSON object ``{"runs": [...]}``, one entry per
size. Figures depend on the machine's load: say how loaded it was when quoting them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from federation import Progress, RunDir
from insight.datasets import SyntheticSpec, write_synthetic
from simulations.errors import SimulationError

DEFAULT_CUSTOMERS = (100_000, 300_000, 1_000_000)
_ACTOR = "ray::ClientApp"  # how the partners' Ray actors are named (15 characters kept)


class TreePeak:
    """The peak summed RSS of a process and all its descendants, sampled in a thread; beside it
    the peaks of the process alone (``peak_command_bytes``) and of the partners' Ray actors
    (``peak_partners_bytes``)."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_bytes = 0
        self.peak_command_bytes = 0
        self.peak_partners_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> tuple[int, int, int]:
        """RSS now: the tree's sum, the process's own, the partners' actors' sum (0s once the
        process is gone)."""
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0, 0, 0
        total = command = partners = 0
        for proc in procs:
            try:
                rss = proc.memory_info().rss
                name = proc.name()
            except psutil.Error:
                continue
            total += rss
            command += rss if proc.pid == self.pid else 0
            partners += rss if name.startswith(_ACTOR) else 0
        return total, command, partners

    def _run(self) -> None:
        while not self._stop.is_set():
            total, command, partners = self.sample()
            self.peak_bytes = max(self.peak_bytes, total)
            self.peak_command_bytes = max(self.peak_command_bytes, command)
            self.peak_partners_bytes = max(self.peak_partners_bytes, partners)
            self._stop.wait(self.interval)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _federation_times(run: RunDir) -> tuple[float, list[float]]:
    events = [json.loads(line) for line in run.progress.read_text().splitlines() if line]
    span = float(events[-1][Progress.TIME]) - float(events[0][Progress.TIME]) if events else 0.0
    rounds = [round(float(e["seconds"]), 1) for e in events if e[Progress.EVENT] == Progress.ROUND]
    return round(span, 1), rounds


def _fedinsight() -> list[str]:
    script = Path(sys.executable).with_name("fedinsight")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


def _generate(work: Path, spec: SyntheticSpec) -> tuple[Path, float]:
    path = work / "data" / spec.file_name
    if path.exists():
        return path, 0.0
    t0 = time.perf_counter()
    write_synthetic(spec, path)
    return path, time.perf_counter() - t0


def run_size(
    work: Path,
    *,
    customers: int,
    partners: int,
    rounds: int,
    local_epochs: int,
    seed: int,
    skew: float,
    value_of_federation: bool = False,
    explain: bool = False,
) -> dict[str, Any]:
    """Generate and simulate one size; its figures (see the module doc).

    Raises:
        SimulationError: the simulate command failed (its log's path is in the message).
    """
    spec = SyntheticSpec(customers=customers, partners=partners, skew=skew, seed=seed)
    data, generate_s = _generate(work, spec)
    out = work / f"c{customers}-p{partners}"
    out.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in out.iterdir()}
    cmd = [
        *_fedinsight(),
        "simulate",
        "--dataset", "synthetic",
        "--data", str(data),
        "--partners", str(partners),
        "--rounds", str(rounds),
        "--local-epochs", str(local_epochs),
        "--seed", str(seed),
        "--dp",
        "--value-of-federation" if value_of_federation else "--no-value-of-federation",
        "--explain" if explain else "--no-explain",
        "--out", str(out),
        "--verbose",
    ]  # fmt: skip
    log_path = out / f"simulate-{time.strftime('%Y%m%d-%H%M%S')}.log"
    t0 = time.perf_counter()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        with TreePeak(proc.pid) as peak:
            code = proc.wait()
    wall = time.perf_counter() - t0
    if code != 0:
        raise SimulationError(f"simulate of {customers:,} customers exited {code}; see {log_path}")
    made = [p for p in out.iterdir() if p.name not in before and (p / "progress.jsonl").exists()]
    if len(made) != 1:
        raise SimulationError(f"cannot tell which run directory under {out} the run made")
    run = RunDir(made[0])
    federated_s, round_s = _federation_times(run)
    timing = json.loads(run.report_json.read_text()).get("timing", {})
    return {
        "customers": customers,
        "partners": partners,
        "partners_kept": len(json.loads(run.partition.read_text())["partners"]),
        "wall_s": round(wall, 1),
        "peak_rss_gib": round(peak.peak_bytes / 2**30, 3),
        "peak_rss_command_gib": round(peak.peak_command_bytes / 2**30, 3),
        "peak_rss_partners_gib": round(peak.peak_partners_bytes / 2**30, 3),
        "seconds_per_customer": wall / customers,
        "federated_s": federated_s,
        "round_s": round_s,
        "generate_s": round(generate_s, 1),
        "value_of_federation": value_of_federation,
        "explain": explain,
        "timing": {k: round(float(v), 1) for k, v in timing.items() if v is not None},
        "audit_log_bytes": _size(run.audit_log.parent),
        "ledger_bytes": _size(run.epsilon_ledger) if run.epsilon_ledger.exists() else 0,
        "partner_ledgers_bytes": sum(_size(p) for p in run.partner_homes.glob("*/privacy.sqlite*")),
        "run_dir": str(run.path),
        "log": str(log_path),
    }


def _print_run(r: dict[str, Any]) -> None:
    print(
        f"{r['customers']:>9,} customers  {r['partners_kept']:>3}/{r['partners']} partners  "
        f"{r['wall_s']:>8.1f} s  {r['peak_rss_gib']:>6.2f} GiB "
        f"(command {r['peak_rss_command_gib']:.2f}, partners {r['peak_rss_partners_gib']:.2f})  "
        f"{r['seconds_per_customer'] * 1e3:.3f} ms/customer  "
        f"audit {r['audit_log_bytes'] / 2**20:.1f} MiB  "
        f"ledger {r['ledger_bytes'] / 2**10:.0f} KiB  "
        f"partner ledgers {r['partner_ledgers_bytes'] / 2**20:.1f} MiB",
        flush=True,
    )


def _customers(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--customers {text!r}: give numbers, e.g. 1000,5000"
        ) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"--customers {text!r}: give positive numbers")
    return sizes


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="fedinsight bench scale", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--customers",
        type=_customers,
        default=list(DEFAULT_CUSTOMERS),
        help="comma-separated sizes (default 100000,300000,1000000)",
    )
    parser.add_argument("--partners", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--local-epochs", type=int, default=1)
    parser.add_argument("--skew", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, default=None, help="keep data and runs here")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    parser.add_argument(
        "--value-of-federation",
        action="store_true",
        help="also train every partner alone (left out by default)",
    )
    parser.add_argument(
        "--explain", action="store_true", help="explanations in the partners' scores (left out)"
    )
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="fedinsight-bench-scale-"))
    print(f"bench scale: work folder {work}; {os.cpu_count()} CPUs", flush=True)
    runs = []
    for customers in args.customers:
        try:
            r = run_size(
                work,
                customers=customers,
                partners=args.partners,
                rounds=args.rounds,
                local_epochs=args.local_epochs,
                seed=args.seed,
                skew=args.skew,
                value_of_federation=args.value_of_federation,
                explain=args.explain,
            )
        except SimulationError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(1) from None
        _print_run(r)
        runs.append(r)
    if len(runs) > 1:
        base = runs[0]["seconds_per_customer"]
        for r in runs[1:]:
            print(
                f"time per customer at {r['customers']:,}: "
                f"{r['seconds_per_customer'] / base:.2f}x that at {runs[0]['customers']:,}"
            )
    result = {"runs": runs}
    if args.json:
        print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
