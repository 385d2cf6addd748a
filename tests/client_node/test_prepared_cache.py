"""A partner keeps its prepared windows on disk, keyed by everything they depend on, and
prepares them only when a message first asks for its data."""

from __future__ import annotations

from pathlib import Path

import pytest

from client_node import data as node_data
from client_node.data import PREPARED_DIR, load_partner
from federation import RunSettings


@pytest.fixture()
def events_file(tmp_path: Path) -> Path:
    from insight.datasets import load_cdnow

    events = load_cdnow().events
    keep = set(sorted(events["customer_id"].unique())[:150])
    path = tmp_path / "events.parquet"
    events[events["customer_id"].isin(keep)].to_parquet(path)
    return path


def _config(path: Path, state: Path) -> dict[str, object]:
    return {"data-path": str(path), "state-dir": str(state), "partner-name": "p"}


def test_windows_are_cached_on_disk_and_reused(tmp_path: Path, events_file: Path) -> None:
    settings = RunSettings()
    config = _config(events_file, tmp_path / "state")
    first = load_partner(settings, config)
    cached = list((tmp_path / "state" / PREPARED_DIR).glob("*.pkl"))
    assert len(cached) == 1
    assert cached[0].stat().st_mode & 0o777 == 0o600
    node_data._cached_partner.cache_clear()
    second = load_partner(settings, config)
    assert second.train.num_customers == first.train.num_customers
    assert list(second.train.customer_ids) == list(first.train.customer_ids)


def test_an_erasure_or_new_settings_make_a_new_entry(tmp_path: Path, events_file: Path) -> None:
    from anonymization import forget

    config = _config(events_file, tmp_path / "state")
    before = load_partner(RunSettings(), config)
    folder = tmp_path / "state" / PREPARED_DIR
    old = {p.name for p in folder.glob("*.pkl")}
    from anonymization import load_key

    key = load_key(tmp_path / "keys" / "state" / "pseudonym.key")
    forget(["00001"], key, tmp_path / "state" / "erasure.jsonl")
    node_data._cached_partner.cache_clear()
    after = load_partner(RunSettings(), config)
    assert {p.name for p in folder.glob("*.pkl")} != old
    assert after.predict.num_customers == before.predict.num_customers - 1
    node_data._cached_partner.cache_clear()
    load_partner(RunSettings(max_events=16), config)
    assert len(list(folder.glob("*.pkl"))) == 1  # one input at a time
    short = {p.name for p in folder.glob("*.pkl")}
    node_data._cached_partner.cache_clear()
    load_partner(RunSettings(max_events=16, calibration_start="1997-01-15"), config)
    assert {p.name for p in folder.glob("*.pkl")} != short


def _homes(root: Path, events_file: Path, count: int) -> Path:
    for i in range(count):
        home = root / "partners" / f"partner-{i}"
        home.mkdir(parents=True)
        (home / "raw.parquet").write_bytes(events_file.read_bytes())
    return root / "partners"


def test_a_simulation_partner_is_prepared_only_when_asked(
    tmp_path: Path, events_file: Path
) -> None:
    homes = _homes(tmp_path, events_file, 2)
    settings = RunSettings(partners_dir=str(homes))
    node_data._cached_partner.cache_clear()
    load_partner(settings, {"partition-id": 0})
    assert len(list((homes / "partner-0" / PREPARED_DIR).glob("*.pkl"))) == 1
    assert sorted(p.name for p in (homes / "partner-1").iterdir()) == ["raw.parquet"]


def test_a_simulation_partner_reuses_its_windows_from_disk(
    tmp_path: Path, events_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    homes = _homes(tmp_path, events_file, 2)
    settings = RunSettings(partners_dir=str(homes))
    node_data._cached_partner.cache_clear()
    first = load_partner(settings, {"partition-id": 0})
    load_partner(settings, {"partition-id": 1})  # the actor's one in-memory entry moves on

    def no_rebuild(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the partner's windows were rebuilt instead of loaded")

    monkeypatch.setattr(node_data, "ingest", no_rebuild)
    monkeypatch.setattr(node_data, "prepare_partner", no_rebuild)
    again = load_partner(settings, {"partition-id": 0})
    assert again is not first
    assert list(again.train.customer_ids) == list(first.train.customer_ids)
    assert (again.train.seq == first.train.seq).all()
    assert node_data._cached_partner.cache_info().currsize == 1
