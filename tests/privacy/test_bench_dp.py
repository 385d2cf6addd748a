"""The DP benchmark command runs end to end at a tiny size (no timings are asserted)."""

from __future__ import annotations

import warnings

import pytest

from simulations.bench_dp import main


@pytest.mark.filterwarnings("ignore")
def test_benchmark_prints_every_mode_and_the_demo_schedule(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    with warnings.catch_warnings():
        main(["--synthetic", "--quick", "--batch-sizes", "8"])
    printed = capsys.readouterr().out

    for mode in ("non-private", "privacy (layer hooks)", "opacus hooks", "opacus ghost", "vmap"):
        assert mode in printed
    assert "demo schedule" in printed
