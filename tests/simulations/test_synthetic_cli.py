from __future__ import annotations

from pathlib import Path

import pandas as pd

from cli.synthetic_data import synthetic_file


def test_simulate_generates_the_file_once_and_reuses_it(tmp_path: Path) -> None:
    options = {"customers": 1500, "partners": 3, "skew": 1.0, "seed": 5}

    path = synthetic_file(tmp_path, **options)
    written = path.stat().st_mtime_ns
    again = synthetic_file(tmp_path, **options)

    assert again == path and path.parent == tmp_path / "synthetic"
    assert path.stat().st_mtime_ns == written
    assert pd.read_parquet(path)["customer_id"].nunique() == 1500
