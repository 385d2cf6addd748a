"""The membership attack's members are exactly the customers the federation trained on."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from federation import RunSettings
from insight import prepare_partner
from insight.datasets import load_cdnow
from simulations.runner import SimulationSpec, prepare_run

ROOT = Path(__file__).resolve().parents[2]


def test_under_pii_the_members_are_exactly_the_consenting_customers(tmp_path: Path) -> None:
    table = load_cdnow()
    keep = sorted(table.events["customer_id"].unique())[:600]
    small = dataclasses.replace(table, events=table.events[table.events["customer_id"].isin(keep)])
    settings = RunSettings(num_partners=2, split="iid", target_delta=1e-4)
    spec = SimulationSpec(
        settings=settings, out_dir=tmp_path, app_dir=ROOT, min_customers=10, pii=True,
        run_id="mia",
    )  # fmt: skip

    prepared = prepare_run(spec, small)

    raw = pd.concat(
        pd.read_parquet(p)
        for p in sorted((tmp_path / "mia" / "partner-homes").glob("*/raw.parquet"))
    )
    consenting = set(raw.loc[raw["consent"], "customer_id"].astype(str))
    refusing = set(raw["customer_id"].astype(str)) - consenting
    members = set(prepared.pooled["customer_id"].astype(str))
    assert refusing  # about 10% of the partners' customers did not consent
    assert members == consenting
    assert members.isdisjoint(set(prepared.non_members["customer_id"].astype(str)))
    windows = prepare_partner(
        "pooled", prepared.pooled, periods=prepared.settings.periods(),
        features=prepared.settings.feature_config(),
    ).train  # fmt: skip
    assert {str(c) for c in windows.customer_ids}.isdisjoint(refusing)
