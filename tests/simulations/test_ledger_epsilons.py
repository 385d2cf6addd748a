"""report.json's privacy section: each partner's ε of training, of charged evaluations, total."""

from __future__ import annotations

from pathlib import Path

import pytest

from client_node.task import evaluation_ledger_run
from federation import RunSettings, dp_terms
from privacy import PrivacyLedger, epsilon_for
from simulations.ledger_epsilons import add_ledger_epsilons

DELTA = 1e-5
TRAIN = [(1.1, 0.05, 40)] * 3
EVALUATE = [(4.0, 1.0, 1)] * 2


def _ledger(path: Path, settings: RunSettings) -> None:
    path.parent.mkdir(parents=True)
    ledger = PrivacyLedger(path)
    accountant = dp_terms(settings).accountant
    rounds = [("17", h) for h in TRAIN] + [(evaluation_ledger_run("17"), h) for h in EVALUATE]
    for i, (run, (sigma, q, steps)) in enumerate(rounds, start=1):
        ledger.record(
            run_id=run, round=i, noise_multiplier=sigma, sample_rate=q, steps=steps,
            target_delta=DELTA, accountant=accountant,
        )  # fmt: skip


def test_each_partner_shows_training_evaluation_and_total_epsilon(tmp_path: Path) -> None:
    settings = RunSettings(target_delta=DELTA)
    homes = tmp_path / "partner-homes"
    _ledger(homes / "partner-0" / "privacy.sqlite", settings)
    (homes / "keys" / "partner-0").mkdir(parents=True)  # the partners' keys: no ledger
    privacy = {"partners": {"partner-0": {"epsilon": 9.9, "rounds_trained": 3}}}

    add_ledger_epsilons(privacy, homes, settings)

    accountant = dp_terms(settings).accountant
    p = privacy["partners"]["partner-0"]
    assert p["epsilon"] == 9.9 and p["rounds_trained"] == 3  # keys added, none changed
    assert p["evaluations_charged"] == 2
    assert p["epsilon_training"] == pytest.approx(
        epsilon_for(TRAIN, target_delta=DELTA, accountant=accountant)
    )
    assert p["epsilon_evaluation"] == pytest.approx(
        epsilon_for(EVALUATE, target_delta=DELTA, accountant=accountant)
    )
    assert p["epsilon_evaluation"] > 0
    assert max(p["epsilon_training"], p["epsilon_evaluation"]) < p["epsilon_total"]
    assert p["epsilon_total"] <= p["epsilon_training"] + p["epsilon_evaluation"]
    assert privacy["epsilon_total_max"] == p["epsilon_total"]
    assert set(privacy["partners"]) == {"partner-0"}


def test_a_run_without_dp_gets_no_ledger_figures(tmp_path: Path) -> None:
    settings = RunSettings(target_delta=DELTA)
    _ledger(tmp_path / "homes" / "p" / "privacy.sqlite", settings)
    privacy: dict[str, object] = {"partners": {}}

    add_ledger_epsilons(privacy, tmp_path / "homes", RunSettings(dp=False))

    assert privacy == {"partners": {}}
