"""Benchmark of partner-side scoring: features and scores for many customers, and explanations.

Run ``python -m simulations.bench_score`` (``fedinsight bench score``); ``--customers`` and
``--explain-customers`` set the sizes (1,000,000 and 100,000 by default), ``--model`` a trained
model file (default: a freshly initialised model, seed 0). The customers are synthetic: a first
purchase in the first half-year, a geometric number of repeat purchases with exponential gaps,
lognormal amounts, scored as of day 365 for a 39-week horizon. Figures depend on the machine:
the output states its cores and load average.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from rich.console import Console
from rich.table import Table

from federation import load_model_state
from insight import CustomerSequenceModel, FeatureConfig, build_prediction_windows, collapse_daily
from insight.scoring import ScoreOptions, explain, score_customers

AS_OF = pd.Timestamp("2024-12-31")


def synthetic_events(customers: int, seed: int = 0) -> pd.DataFrame:
    """About 4 events per customer on average, all on or before `AS_OF`."""
    rng = np.random.default_rng(seed)
    repeats = np.minimum(rng.geometric(0.3, customers) - 1, 60)
    counts = repeats + 1
    owner = np.repeat(np.arange(customers), counts)
    first = rng.integers(0, 182, customers)
    gaps = rng.exponential(30.0, len(owner))
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    gaps[starts] = 0.0
    cum = np.cumsum(gaps)
    offset = cum - np.repeat(cum[starts], counts)
    day = np.repeat(first, counts) + offset.astype(np.int64)
    keep = day <= 365
    day, owner = day[keep], owner[keep]
    ids = np.char.add("c", np.char.zfill(owner.astype(str), 7))
    return pd.DataFrame(
        {
            "customer_id": ids,
            "timestamp": AS_OF - pd.to_timedelta(365 - day, unit="D"),
            "quantity": np.ones(len(day)),
            "amount": np.round(rng.lognormal(3.3, 0.8, len(day)), 2),
        }
    )


def _model(path: Path | None) -> CustomerSequenceModel:
    torch.manual_seed(0)
    model = CustomerSequenceModel()
    if path is not None:
        model.load_state_dict(load_model_state(path))
    return model


def main(argv: list[str] | None = None) -> None:
    """Generate the customers, time scoring and explanations, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--explain-customers", type=int, default=100_000)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args(argv)
    if not 0 < args.explain_customers <= args.customers:
        parser.error("--explain-customers must be between 1 and --customers")
    console = Console()
    model = _model(args.model)
    rows: list[tuple[str, str, str]] = []

    t0 = _clock()
    events = synthetic_events(args.customers)
    rows.append(("synthetic events (not timed below)", f"{len(events):,}", _s(t0)))
    options = ScoreOptions(as_of=AS_OF, horizon_weeks=39.0, explain=False)
    t0 = _clock()
    scored = score_customers(model, events, options)
    rows.append(("features + scores, no explanations", f"{len(scored.table):,}", _s(t0)))

    few = events[events["customer_id"] < f"c{args.explain_customers:07d}"]
    t0 = _clock()
    windows = build_prediction_windows(
        collapse_daily(few), calibration_end=AS_OF, horizon_weeks=39.0, config=FeatureConfig()
    )
    rows.append(("features for explanations", f"{windows.num_customers:,}", _s(t0)))
    t0 = _clock()
    ex = explain(model, windows)
    rows.append(("explanations (Integrated Gradients)", f"{windows.num_customers:,}", _s(t0)))
    worst = float(np.max(np.abs(ex.delta) / np.abs(ex.output)))

    table = Table(title="partner-side scoring")
    for column in ("step", "customers", "wall seconds (cpu seconds)"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(
        f"model: {args.model or 'freshly initialised (seed 0)'}; worst completeness error "
        f"{worst:.2e} x |f(x)|; {os.cpu_count()} cores, torch threads "
        f"{torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f} at the end"
    )


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _s(t0: tuple[float, float]) -> str:
    """Wall seconds, and this process's CPU seconds (all threads): on a shared machine the
    CPU time tells what the work costs, the wall time what this run waited."""
    return f"{time.perf_counter() - t0[0]:.1f} (cpu {time.process_time() - t0[1]:.1f})"


if __name__ == "__main__":
    main()
