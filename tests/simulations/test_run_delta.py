"""The δ of a simulated run: chosen from its partners unless given, and every partner set to it."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path

import pytest

from federation import RunSettings
from insight.datasets import load_cdnow
from privacy import default_delta
from simulations.runner import SimulationSpec, prepare_run

ROOT = Path(__file__).resolve().parents[2]


def _prepare(
    tmp_path: Path, *, delta: float, from_partners: bool, customers: int
) -> tuple[float, Path]:
    table = load_cdnow()
    keep = sorted(table.events["customer_id"].unique())[:customers]
    small = dataclasses.replace(table, events=table.events[table.events["customer_id"].isin(keep)])
    spec = SimulationSpec(
        settings=RunSettings(num_partners=2, split="iid", target_delta=delta),
        out_dir=tmp_path, app_dir=ROOT, min_customers=10, run_id="d",
        budgets={"partner-0": 2.5}, delta_from_partners=from_partners,
    )  # fmt: skip
    prepared = prepare_run(spec, small)
    return prepared.settings.target_delta, tmp_path / "d"


def test_without_a_delta_the_run_takes_the_largest_partners_default(tmp_path: Path) -> None:
    """A partner's own default is min(1e-5, 1/(10 n)): a run at 1e-5 lost every partner above
    10,000 customers (34 of 100 at a million customers). The run now asks for the δ of the
    largest, and each partner's settings say so (its node still checks δ <= 1/n)."""
    # All of CDNOW in two: about 11,800 customers a partner, so its default is below 1e-5.
    delta, run_dir = _prepare(tmp_path, delta=1e-5, from_partners=True, customers=30_000)

    sizes = json.loads((run_dir / "partition.json").read_text())["partners"]
    assert delta == pytest.approx(default_delta(max(sizes.values())))
    assert delta < 1e-5 and delta <= min(1 / (10 * n) for n in sizes.values())
    for name in sizes:
        own = tomllib.loads((run_dir / "partner-homes" / name / "node.toml").read_text())
        assert own["target-delta"] == pytest.approx(delta)
        assert own.get("epsilon-budget") == (2.5 if name == "partner-0" else None)
    run_config = tomllib.loads((run_dir / "config.toml").read_text())["tool"]["flwr"]["app"][
        "config"
    ]
    assert run_config["target-delta"] == pytest.approx(delta)


def test_a_delta_given_is_the_runs_and_every_partners(tmp_path: Path) -> None:
    delta, run_dir = _prepare(tmp_path, delta=1e-4, from_partners=False, customers=600)

    assert delta == 1e-4
    for home in sorted((run_dir / "partner-homes").glob("partner-*")):
        assert tomllib.loads((home / "node.toml").read_text())["target-delta"] == 1e-4


def test_more_partners_than_a_checkpoint_can_carry_are_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The coordinator would refuse the run at its start (coordinator.audit_trail.MAX_PARTNERS);
    the simulation says so before it writes a run directory or a partner's raw file."""
    from simulations import runner
    from simulations.errors import SimulationError

    monkeypatch.setattr(runner, "MAX_PARTNERS", 1)
    with pytest.raises(SimulationError, match=r"the split kept 2 partners; .* so at most 1"):
        _prepare(tmp_path, delta=1e-4, from_partners=False, customers=600)
    assert not (tmp_path / "d").exists()
