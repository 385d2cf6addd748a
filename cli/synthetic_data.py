"""`fedinsight simulate --dataset synthetic`: the generated federation's file, made once."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

console = Console()

# Each generated partner is one value of this column; the split deals customers by it.
SYNTHETIC_SPLIT = "column:partner"


def synthetic_file(out: Path, *, customers: int, partners: int, skew: float, seed: int) -> Path:
    """The Parquet file of the synthetic federation these options describe, under
    ``out/synthetic/``; generated (with a progress bar) unless an identical one is there.

    Raises:
        InsightError: for options that describe no federation.
    """
    from insight.datasets.synthetic import SyntheticSpec, write_synthetic

    spec = SyntheticSpec(customers=customers, partners=partners, skew=skew, seed=seed)
    spec.validate()
    path = out / "synthetic" / spec.file_name
    if path.exists():
        console.print(f"using the synthetic federation generated before: {path}")
        return path
    with Progress(
        TextColumn("[bold]generating {task.fields[customers]:,} synthetic customers"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} partners"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("", total=partners, customers=customers)
        write_synthetic(
            spec, path, on_partner=lambda done, _: progress.update(task, completed=done)
        )
    return path
