"""The benchmark command runs end to end at a tiny size (no timings are asserted)."""

from __future__ import annotations

import pytest

from simulations.bench_audit import main


def test_benchmark_prints_every_measure(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    main(["--leaves", "3000", "--batch", "1000", "--proofs", "50"])
    printed = capsys.readouterr().out

    for measure in (
        "hashlib floor",
        "persisted extend",
        "inclusion proof",
        "cold open",
        "verify_inclusion",
        "full recompute",
        "pymerkle",
        "merkletools",
    ):
        assert measure in printed
