"""The federated part of ``fedinsight simulate --privacy-audit`` on CDNOW, and its audit, without
the baselines (centralized model, BG/NBD, per-round scoring).

The same ``prepare_run`` (canary specs in the partners' homes, or canary customers in their raw
data), the same Flower app and the same ``run_audit`` as the command; it prints one JSON line.
It exists because the centralized baseline alone took 35 minutes on a loaded 2-core machine,
and the audit's figures do not need it. Example (the overfit run of docs/privacy.md)::

    python scripts/privacy_audit_runs.py --name overfit --no-dp --local-epochs 20 --canaries 2100
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from coordinator import read_progress
from federation import RunDir, RunSettings, find_app_dir, flwr_run, local_superlink
from insight import default_periods, load_dataset
from simulations.privacy_audit import run_audit
from simulations.runner import SimulationSpec, prepare_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="folder under --out")
    parser.add_argument("--out", type=Path, default=Path("runs/privacy-audit"))
    parser.add_argument("--canaries", type=int, default=2100)
    parser.add_argument("--no-dp", action="store_true")
    parser.add_argument("--target-epsilon", type=float, default=3.0)
    parser.add_argument("--local-epochs", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--audit-kind", choices=("gradient", "input"), default="gradient")
    args = parser.parse_args()
    periods = default_periods("cdnow")
    assert periods is not None and periods.calibration_start is not None
    settings = RunSettings(
        num_server_rounds=5,
        local_epochs=args.local_epochs,
        learning_rate=args.learning_rate,
        seed=42,
        dataset="cdnow",
        dp=not args.no_dp,
        target_epsilon=args.target_epsilon,
        target_delta=1e-5,
        epsilon_budget=math.inf if args.no_dp else max(3.0, args.target_epsilon),
        split="dirichlet:1.0",
        num_partners=5,
        min_partners=2,
        calibration_start=str(periods.calibration_start.date()),
        calibration_end=str(periods.calibration_end.date()),
        holdout_end=str(periods.holdout_end.date()),
    )
    settings.validate()
    spec = SimulationSpec(
        settings=settings,
        out_dir=args.out / args.name,
        app_dir=find_app_dir(),
        canaries=args.canaries,
        audit_kind=args.audit_kind,
    )
    t0 = time.perf_counter()
    prepared = prepare_run(spec, load_dataset("cdnow", None, ""))
    assert prepared.canaries is not None
    files = RunDir(prepared.run_dir)
    with local_superlink(files.flower_dir) as link:
        flwr_run(
            spec.app_dir,
            link,
            run_config=prepared.settings.to_flower(),
            num_supernodes=len(prepared.partners),
            num_cpus_per_client=1,
            log_path=files.flower_log,
        )
    audit = run_audit(
        prepared.run_dir, prepared.settings, prepared.canaries, read_progress(files.progress)
    )
    seconds = round(time.perf_counter() - t0)
    print(json.dumps({"run": str(prepared.run_dir), "seconds": seconds, "audit": audit}))


if __name__ == "__main__":
    main()
