"""Every term a partner agrees to is in the run manifest (format /2), the noise multiplier as the
partner will get it, and ``fedinsight node approve`` shows the privacy terms first."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.main import app
from federation import (
    MANIFEST_FORMAT,
    MANIFEST_SECTIONS,
    ManifestError,
    RunSettings,
    SettingsError,
    build_manifest,
    manifest_settings,
    partner_noise_multiplier,
    read_manifest,
    write_manifest,
)
from federation.manifest import CALIBRATED, FIXED, NOT_TERMS
from privacy import DPConfig, RoundSchedule, epsilon_for, noise_multiplier_for

CODE, ARCH = "c" * 64, "a" * 64
runner = CliRunner()


def _manifest(settings: RunSettings) -> dict[str, Any]:
    return build_manifest(settings, code_sha256=CODE, architecture_sha256=ARCH)


def _days(low: str, high: str) -> st.SearchStrategy[str]:
    return st.dates(date.fromisoformat(low), date.fromisoformat(high)).map(date.isoformat)


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


# Valid values of every term (run-config key), for the property test below.
TERM_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "dp": st.booleans(),
    "noise-multiplier": st.one_of(st.just(0.0), _floats(0.05, 20.0)),
    "target-epsilon": _floats(0.1, 50.0),
    "target-delta": _floats(1e-9, 1e-3),
    "dp-accountant": st.sampled_from(["rdp", "prv"]),
    "max-grad-norm": _floats(0.01, 100.0),
    "evaluation-noise-multiplier": _floats(0.5, 100.0),
    "central-dp": st.booleans(),
    "central-noise-multiplier": _floats(0.01, 10.0),
    "central-clipping-norm": _floats(0.01, 10.0),
    "num-server-rounds": st.integers(1, 100),
    "local-epochs": st.integers(1, 10),
    "batch-size": st.integers(1, 4096),
    "learning-rate": _floats(1e-5, 1.0),
    "fraction-train": _floats(0.01, 1.0),
    "seed": st.integers(0, 2**31 - 1),
    "calibration-start": _days("1996-01-01", "1996-12-31"),
    "calibration-end": _days("1997-01-01", "1997-12-31"),
    "holdout-end": _days("1998-01-01", "1998-12-31"),
    "max-events": st.integers(1, 512),
    "num-windows": st.integers(1, 32),
    "min-partners": st.integers(1, 100),
    "round-timeout": _floats(1.0, 1e5),
    "aggregation": st.sampled_from(["fedavg", "trimmed-mean", "median"]),
    "trim-beta": _floats(0.0, 0.49),
    "max-update-norm": _floats(0.0, 1000.0),
    "evaluate-every": st.integers(1, 100),
}
TERMS = sorted(TERM_VALUES)


def _settings(values: dict[str, Any]) -> RunSettings:
    try:
        return RunSettings.from_mapping(values)
    except SettingsError:
        assume(False)  # e.g. central-dp with a robust aggregation: not a valid run
        raise


def test_every_run_config_key_is_a_term_or_named_as_not_one() -> None:
    keys = set(RunSettings().to_flower())
    terms = {key for section in MANIFEST_SECTIONS.values() for key in section}
    terms.discard("noise-calibration")  # derived from noise-multiplier, not a run-config key
    terms.discard("num-evaluations")  # derived from num-server-rounds and evaluate-every

    assert terms | set(NOT_TERMS) == keys
    assert not terms & set(NOT_TERMS)
    assert set(TERM_VALUES) == terms  # the property test draws from every term


@given(
    base=st.fixed_dictionaries(TERM_VALUES),
    term=st.sampled_from(TERMS),
    data=st.data(),
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
def test_the_manifest_hash_changes_when_any_single_term_changes(
    base: dict[str, Any], term: str, data: st.DataObject
) -> None:
    value = data.draw(TERM_VALUES[term].filter(lambda v: v != base[term]), label=term)
    before = _manifest(_settings(base))
    after = _manifest(_settings({**base, term: value}))

    assert after["manifest_sha256"] != before["manifest_sha256"]


@pytest.mark.parametrize(
    "change",
    [
        {"run_dir": "/runs/elsewhere"},
        {"partners_dir": "/partners"},
        {"audit_key": "/keys/audit.key"},
        {"epsilon_budget": 1.0},
        {"schema_path": "/s.toml"},
        {"data_path": "/d.csv"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_what_is_not_a_term_leaves_the_hash_alone(change: dict[str, Any]) -> None:
    changed = dataclasses.replace(RunSettings(), **change)

    assert _manifest(changed)["manifest_sha256"] == _manifest(RunSettings())["manifest_sha256"]


def test_the_federation_and_central_dp_terms_are_stated() -> None:
    manifest = _manifest(
        RunSettings(min_partners=3, round_timeout=30.0, aggregation="trimmed-mean", trim_beta=0.1)
    )

    assert manifest["federation"] == {
        "min-partners": 3,
        "round-timeout": 30.0,
        "aggregation": "trimmed-mean",
        "trim-beta": 0.1,
        "max-update-norm": 50.0,
        "evaluate-every": 1,
    }
    assert manifest["central_dp"] == {
        "central-dp": False,
        "central-noise-multiplier": 1.0,
        "central-clipping-norm": 1.0,
    }


def test_a_calibrated_sigma_is_stated_as_a_rule_never_as_zero() -> None:
    dp = _manifest(RunSettings(noise_multiplier=0.0))["dp"]

    assert dp["noise-multiplier"] is None
    assert dp["noise-calibration"] == CALIBRATED
    for word in ("target-epsilon", "target-delta", "dp-accountant", "batch-size", "local-epochs"):
        assert word in CALIBRATED
    assert "num-server-rounds" in CALIBRATED


def test_a_fixed_sigma_is_stated_as_is() -> None:
    dp = _manifest(RunSettings(noise_multiplier=1.051))["dp"]

    assert (dp["noise-multiplier"], dp["noise-calibration"]) == (1.051, FIXED)


@pytest.mark.parametrize(
    "settings_",
    [
        RunSettings(),
        RunSettings(noise_multiplier=1.3, dp=False, num_server_rounds=4, aggregation="median"),
        RunSettings(central_dp=True, central_noise_multiplier=0.7, calibration_end="1997-06-30"),
    ],
    ids=["defaults", "fixed", "central"],
)
def test_the_settings_a_manifest_states_give_back_its_hash(settings_: RunSettings) -> None:
    manifest = _manifest(settings_)

    assert _manifest(manifest_settings(manifest)) == manifest


@pytest.mark.parametrize("customers", [1, 57, 300, 5000])
@pytest.mark.parametrize("accountant", ["rdp", "prv"])
def test_a_partners_sigma_is_the_one_privacy_calibrates(customers: int, accountant: str) -> None:
    settings_ = RunSettings(num_server_rounds=3, local_epochs=2, dp_accountant=accountant)
    config = settings_.train_config(seed=0)
    schedule = RoundSchedule.for_customers(customers, config)
    dp = DPConfig(
        noise_multiplier=None,
        target_epsilon=settings_.target_epsilon,
        target_delta=settings_.target_delta,
        max_grad_norm=settings_.max_grad_norm,
        accountant=settings_.dp_accountant,  # type: ignore[arg-type]
    )

    alone = noise_multiplier_for(
        dp,
        sample_rate=schedule.sample_rate,
        steps=schedule.steps * settings_.num_server_rounds,
        target_delta=settings_.target_delta,
    )
    evaluations = (settings_.evaluation_noise_multiplier, 1.0, settings_.planned_evaluations)

    def spent(sigma: float) -> float:
        training = (sigma, schedule.sample_rate, schedule.steps * settings_.num_server_rounds)
        return epsilon_for(
            [training, evaluations],
            target_delta=settings_.target_delta,
            accountant=settings_.dp_accountant,  # type: ignore[arg-type]
        )

    sigma = partner_noise_multiplier(settings_, customers)

    # The run's training and its charged evaluations together spend target-epsilon, no more:
    # the sigma is a little above the one of training alone, and the smallest that fits.
    assert settings_.planned_evaluations == 3
    assert sigma > alone
    assert spent(sigma) <= settings_.target_epsilon
    assert spent(sigma * 0.995) > settings_.target_epsilon


def test_a_fixed_sigma_is_every_partners_sigma() -> None:
    assert partner_noise_multiplier(RunSettings(noise_multiplier=1.051), 17) == 1.051


def test_an_old_format_manifest_is_refused_saying_so(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"format": "fedinsight-run-manifest/1"}), encoding="utf-8")

    with pytest.raises(ManifestError) as info:
        read_manifest(path)

    message = str(info.value)
    assert f"not a {MANIFEST_FORMAT} manifest but a fedinsight-run-manifest/1 one" in message
    assert "fedinsight coordinator manifest" in message
    assert str(path) in message


# fedinsight node approve: the prompt ------------------------------------------------------------


def _text(output: str) -> str:
    """The output without the tables' box drawing, words joined by single spaces."""
    return " ".join(re.sub("[\u2500-\u257f]", " ", output).split())


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows on one line each, so the tests read a row as 'term value'."""
    from cli import deploy_common

    for console in (deploy_common.console, deploy_common.err):
        monkeypatch.setattr(console, "_width", 400)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node folder whose partner holds 300 CDNOW customers."""
    from insight.datasets import load_cdnow

    root = tmp_path_factory.mktemp("approve")
    coordinator = root / "coordinator"
    assert runner.invoke(app, ["coordinator", "init", str(coordinator), "--address",
                               "127.0.0.1:9555"]).exit_code == 0  # fmt: skip
    events = load_cdnow().events
    ids = sorted(events["customer_id"].unique())[:300]
    data = root / "p0.parquet"
    events[events["customer_id"].isin(set(ids))].to_parquet(data)
    result = runner.invoke(
        app,
        ["node", "init", str(root / "p0"), "--name", "p0", "--data", str(data),
         "--superlink", "127.0.0.1:9555", "--root-cert", str(coordinator / "tls" / "ca.pem")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return root / "p0"


def _approve(node: Path, settings_: RunSettings, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    from federation import run_manifest

    manifest = run_manifest(settings_)
    path = tmp_path / "m.json"
    write_manifest(manifest, path)
    result = runner.invoke(app, ["node", "approve", str(node), str(path), "--yes"])
    assert result.exit_code == 0, result.output
    return _text(result.output), manifest


def test_approve_shows_this_partners_calibrated_sigma(node: Path, tmp_path: Path) -> None:
    from client_node.data import load_partner
    from client_node.source import resolve_source
    from privacy import round_schedule

    settings_ = RunSettings(num_server_rounds=2, local_epochs=1)
    text, _ = _approve(node, settings_, tmp_path)

    source = resolve_source({}, {"node-dir": str(node)})
    data = load_partner(settings_, {}, source)
    customers = round_schedule(data.train, settings_.train_config(seed=0)).num_customers
    sigma = partner_noise_multiplier(settings_, customers)
    assert sigma > 0
    assert f"noise multiplier at this partner {sigma:.4f} (calibrated" in text
    assert "dp.noise-multiplier calibrated at each partner" in text
    assert "dp.noise-multiplier 0.0" not in text


def test_approve_shows_the_privacy_terms_first(node: Path, tmp_path: Path) -> None:
    text, _ = _approve(node, RunSettings(noise_multiplier=1.051), tmp_path)

    order = [
        "privacy terms",
        "dp.dp True",
        "dp.noise-multiplier 1.051",
        "noise multiplier at this partner 1.051 (fixed by the run)",
        "dp.target-epsilon",
        "central_dp.central-dp False",
        "code and run terms",
        "code sha256",
        "training.num-server-rounds",
        "federation.min-partners 2",
        "federation.trim-beta 0.2",
    ]
    where = [text.find(part) for part in order]
    assert -1 not in where, [p for p, i in zip(order, where, strict=True) if i < 0]
    assert where == sorted(where)
    assert "WARNING" not in text


def test_approve_warns_first_when_dp_is_off(node: Path, tmp_path: Path) -> None:
    text, _ = _approve(node, RunSettings(dp=False), tmp_path)

    warning = text.find("WARNING: differential privacy is OFF")
    assert 0 <= warning < text.find("privacy terms")
    assert "noise multiplier at this partner" not in text


def test_approve_warns_that_a_budgeted_node_will_refuse_a_run_without_dp(
    node: Path, tmp_path: Path
) -> None:
    text, _ = _approve(node, RunSettings(dp=False), tmp_path)

    assert "the run has dp = false and this node has an ε budget" in text
    assert "will refuse every round and every evaluation" in text


def test_approve_warns_when_the_run_asks_another_delta_than_the_nodes(
    node: Path, tmp_path: Path
) -> None:
    from client_node.source import resolve_source
    from privacy import PrivacyLedger

    state = resolve_source({}, {"node-dir": str(node)}).state
    PrivacyLedger(state.ledger_path).fix_delta(1e-6)

    text, _ = _approve(node, RunSettings(target_delta=1e-5), tmp_path)

    assert "target-delta 1e-05 is not this node's δ 1e-06" in text


def test_approve_without_data_warns_and_still_shows_the_terms(node: Path, tmp_path: Path) -> None:
    from federation import run_manifest

    path = tmp_path / "m.json"
    write_manifest(run_manifest(RunSettings(num_server_rounds=3)), path)
    empty = tmp_path / "p1"
    ca = node.parent / "coordinator" / "tls" / "ca.pem"
    result = runner.invoke(
        app,
        ["node", "init", str(empty), "--name", "p1", "--data", str(tmp_path / "gone.parquet"),
         "--superlink", "127.0.0.1:9555", "--root-cert", str(ca), "--no-check"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    result = runner.invoke(app, ["node", "approve", str(empty), str(path), "--yes"])

    assert result.exit_code == 0, result.output
    text = _text(result.output)
    assert "cannot resolve this node's noise multiplier" in text
    assert "noise multiplier at this partner not resolved" in text
    assert "approved" in text


def test_approve_warns_when_the_target_is_above_this_nodes_budget(
    node: Path, tmp_path: Path
) -> None:
    # The node was made with the default budget of 3.0.
    above, _ = _approve(node, RunSettings(target_epsilon=5.0, epsilon_budget=5.0), tmp_path)
    within, _ = _approve(node, RunSettings(target_epsilon=2.0), tmp_path)

    assert "target-epsilon 5 is above this node's ε budget of 3: the node will refuse" in above
    assert "above this node's ε budget" not in within


def test_a_manifest_whose_section_is_not_a_table_is_refused(tmp_path: Path) -> None:
    from federation import manifest_hash

    manifest = _manifest(RunSettings())
    manifest["federation"] = ["min-partners", 2]
    manifest["manifest_sha256"] = manifest_hash(manifest)
    path = tmp_path / "m.json"
    write_manifest(manifest, path)

    with pytest.raises(ManifestError, match="manifest sections federation are not tables"):
        read_manifest(path)
