"""Run manifests, a partner's approval of them, and the run-config keys of the deployment."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pytest

from client_node.approval import (
    approval_refusal,
    approve,
    approved,
    is_approved,
    refusal_reason,
    requires_approval,
    revoke,
)
from client_node.errors import PartnerDataError
from client_node.node_state import NodeState
from federation import (
    MANIFEST_FORMAT,
    ManifestError,
    RunSettings,
    SettingsError,
    build_manifest,
    code_hash,
    manifest_hash,
    read_manifest,
    run_manifest,
    write_manifest,
)

CODE = "c" * 64
ARCH = "a" * 64


def _manifest(settings: RunSettings | None = None, *, code: str = CODE) -> dict[str, Any]:
    return build_manifest(settings or RunSettings(), code_sha256=code, architecture_sha256=ARCH)


def _digest(settings: RunSettings) -> str:
    return str(_manifest(settings)["manifest_sha256"])


@pytest.fixture(scope="module")
def this_run() -> tuple[RunSettings, dict[str, Any]]:
    """Settings and the manifest of the code this process runs (slow once: imports torch)."""
    settings = RunSettings(num_server_rounds=2, local_epochs=1)
    return settings, run_manifest(settings)


def _node(root: Path, require_approval: bool | None) -> NodeState:
    root.mkdir(parents=True, exist_ok=True)
    if require_approval is not None:
        value = "true" if require_approval else "false"
        (root / "node.toml").write_text(f"require-approval = {value}\n", encoding="utf-8")
    return NodeState(root)


# federation/manifest.py: build_manifest, manifest_hash --------------------------------------------


def test_manifest_hash_is_sha256_of_canonical_json_without_its_own_field() -> None:
    body = {"b": [1, 2], "a": "x"}
    expected = hashlib.sha256(b'{"a":"x","b":[1,2]}').hexdigest()

    assert manifest_hash(body) == expected
    assert manifest_hash({**body, "manifest_sha256": "anything"}) == expected


def test_built_manifest_carries_its_hash_and_terms() -> None:
    manifest = _manifest(RunSettings(target_epsilon=2.0, num_server_rounds=7))

    assert manifest["format"] == MANIFEST_FORMAT
    assert manifest["manifest_sha256"] == manifest_hash(manifest)
    assert (manifest["code_sha256"], manifest["architecture_sha256"]) == (CODE, ARCH)
    assert manifest["dp"]["target-epsilon"] == 2.0
    assert manifest["training"]["num-server-rounds"] == 7


@pytest.mark.parametrize(
    "change",
    [
        {"dp": False},
        {"noise_multiplier": 1.1},
        {"max_grad_norm": 5.0},
        {"target_epsilon": 8.0},
        {"target_delta": 1e-6},
        {"dp_accountant": "prv"},
        {"central_dp": True},
        {"central_noise_multiplier": 0.5},
    ],
    ids=lambda change: next(iter(change)),
)
def test_manifest_hash_changes_with_a_dp_term(change: dict[str, Any]) -> None:
    assert _digest(dataclasses.replace(RunSettings(), **change)) != _digest(RunSettings())


@pytest.mark.parametrize(
    "change",
    [
        {"num_server_rounds": 6},
        {"local_epochs": 3},
        {"batch_size": 64},
        {"learning_rate": 0.01},
        {"fraction_train": 0.5},
        {"seed": 7},
        {"max_events": 16},
        {"holdout_end": "1998-05-31"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_manifest_hash_changes_with_a_training_term(change: dict[str, Any]) -> None:
    assert _digest(dataclasses.replace(RunSettings(), **change)) != _digest(RunSettings())


@pytest.mark.parametrize(
    "change",
    [
        {"run_dir": "/runs/elsewhere"},
        {"partners_dir": "/partners"},
        {"audit_key": "/keys/audit.key"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_manifest_hash_ignores_paths(change: dict[str, Any]) -> None:
    assert _digest(dataclasses.replace(RunSettings(), **change)) == _digest(RunSettings())


def test_manifest_hash_changes_with_the_code() -> None:
    assert _manifest(code="d" * 64)["manifest_sha256"] != _manifest()["manifest_sha256"]


def test_manifest_hash_changes_with_the_architecture() -> None:
    other = build_manifest(RunSettings(), code_sha256=CODE, architecture_sha256="b" * 64)

    assert other["manifest_sha256"] != _manifest()["manifest_sha256"]


# federation/manifest.py: read_manifest ------------------------------------------------------------


def test_a_written_manifest_reads_back(tmp_path: Path) -> None:
    manifest = _manifest()
    write_manifest(manifest, tmp_path / "m.json")

    assert read_manifest(tmp_path / "m.json") == manifest


def test_an_edited_manifest_is_refused_naming_the_file(tmp_path: Path) -> None:
    manifest = _manifest()
    manifest["training"]["num-server-rounds"] = 500  # the hash still says 5
    write_manifest(manifest, tmp_path / "m.json")

    with pytest.raises(ManifestError, match="does not match") as info:
        read_manifest(tmp_path / "m.json")

    assert str(tmp_path / "m.json") in str(info.value)


@pytest.mark.parametrize(
    "content",
    [
        {"format": "fedinsight-run-manifest/1"},
        {"code_sha256": CODE},
        ["fedinsight-run-manifest/1"],
        "fedinsight-run-manifest/1",
    ],
    ids=["other-version", "no-format", "list", "string"],
)
def test_a_file_of_another_format_is_refused_naming_the_file(tmp_path: Path, content: Any) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(content), encoding="utf-8")

    with pytest.raises(ManifestError, match=f"not a {MANIFEST_FORMAT} manifest") as info:
        read_manifest(path)

    assert str(path) in str(info.value)


def test_a_manifest_without_its_terms_is_refused_naming_what_lacks(tmp_path: Path) -> None:
    manifest = _manifest()
    del manifest["dp"], manifest["training"]
    manifest["manifest_sha256"] = manifest_hash(manifest)
    path = tmp_path / "m.json"
    write_manifest(manifest, path)

    with pytest.raises(ManifestError, match="manifest lacks dp, training") as info:
        read_manifest(path)

    assert str(path) in str(info.value)


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b""], ids=["json", "utf8", "empty"])
def test_an_unreadable_manifest_is_refused_naming_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(content)

    with pytest.raises(ManifestError, match="not a readable JSON manifest") as info:
        read_manifest(path)

    assert str(path) in str(info.value)


def test_a_missing_manifest_is_refused_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"missing\.json"):
        read_manifest(tmp_path / "missing.json")


# federation/manifest.py: code_hash ----------------------------------------------------------------


def _tree(root: Path) -> Path:
    for rel, text in {
        "insight/__init__.py": "",
        "insight/models.py": "WIDTH = 32\n",
        "audit/log.py": "def append(): ...\n",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def test_code_hash_is_stable(tmp_path: Path) -> None:
    root = _tree(tmp_path)

    assert code_hash(root) == code_hash(root)
    assert len(code_hash(root)) == 64


def test_code_hash_changes_when_a_file_changes(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    before = code_hash(root)

    (root / "insight" / "models.py").write_text("WIDTH = 33\n", encoding="utf-8")

    assert code_hash(root) != before


def test_code_hash_changes_when_a_file_is_added_or_renamed(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    before = code_hash(root)

    (root / "audit" / "log.py").rename(root / "audit" / "merkle.py")
    renamed = code_hash(root)
    (root / "coordinator").mkdir()
    (root / "coordinator" / "rounds.py").write_text("", encoding="utf-8")

    assert len({before, renamed, code_hash(root)}) == 3


def test_code_hash_ignores_files_outside_the_app_packages(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    before = code_hash(root)

    (root / "tests").mkdir()
    (root / "tests" / "test_x.py").write_text("assert True\n", encoding="utf-8")
    (root / "insight" / "notes.txt").write_text("not code\n", encoding="utf-8")

    assert code_hash(root) == before


# client_node/approval.py -----------------------------------------------------------------------


def test_no_node_toml_and_no_node_config_requires_no_approval(tmp_path: Path) -> None:
    assert requires_approval(_node(tmp_path / "n", None), {}) is False


@pytest.mark.parametrize("value", [True, False])
def test_node_toml_says_whether_approval_is_required(tmp_path: Path, value: bool) -> None:
    assert requires_approval(_node(tmp_path / "n", value), {}) is value


@pytest.mark.parametrize(
    ("in_toml", "node_config", "expected"),
    [
        (True, "false", False),
        (True, "0", False),
        (False, "true", True),
        (False, "yes", True),
        (False, True, True),
        (None, "TRUE", True),
    ],
)
def test_node_config_wins_over_node_toml(
    tmp_path: Path, in_toml: bool | None, node_config: object, expected: bool
) -> None:
    state = _node(tmp_path / "n", in_toml)

    assert requires_approval(state, {"require-approval": node_config}) is expected


def test_an_invalid_node_toml_is_a_partner_data_error_naming_it(tmp_path: Path) -> None:
    state = _node(tmp_path / "n", None)
    (state.root / "node.toml").write_text("require-approval = = yes\n", encoding="utf-8")

    with pytest.raises(PartnerDataError, match=r"node\.toml: not valid TOML"):
        requires_approval(state, {})


def test_approve_records_the_manifest(tmp_path: Path) -> None:
    state = _node(tmp_path / "n", True)
    manifest = _manifest()

    path = approve(state, manifest, note="reviewed by the DPO")

    entry = json.loads(path.read_text(encoding="utf-8"))
    assert path == state.root / "approvals" / f"{manifest['manifest_sha256']}.json"
    assert entry["manifest"] == manifest
    assert entry["note"] == "reviewed by the DPO"
    assert entry["approved_at"].endswith("Z")
    assert is_approved(state, manifest["manifest_sha256"])
    assert approved(state) == [entry]


def test_approve_is_idempotent(tmp_path: Path) -> None:
    state = _node(tmp_path / "n", True)
    manifest = _manifest()
    first = approve(state, manifest, note="first")
    before = first.read_bytes()

    second = approve(state, manifest, note="second")

    assert second == first
    assert second.read_bytes() == before
    assert sorted(p.name for p in (state.root / "approvals").iterdir()) == [first.name]


def test_approve_leaves_no_approval_when_the_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = _node(tmp_path / "n", True)
    manifest = _manifest()

    def fail(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("insight.files.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        approve(state, manifest)

    assert not is_approved(state, manifest["manifest_sha256"])
    assert approved(state) == []


def test_revoke_removes_an_approval_once(tmp_path: Path) -> None:
    state = _node(tmp_path / "n", True)
    digest = str(_manifest()["manifest_sha256"])
    approve(state, _manifest())

    assert revoke(state, digest) is True
    assert not is_approved(state, digest)
    assert revoke(state, digest) is False


def test_is_approved_is_false_for_another_manifest(tmp_path: Path) -> None:
    state = _node(tmp_path / "n", True)
    approve(state, _manifest())

    assert not is_approved(state, _digest(RunSettings(num_server_rounds=6)))


def test_refusal_reason_names_the_hash_and_the_command(tmp_path: Path) -> None:
    state = _node(tmp_path / "n", True)
    digest = str(_manifest()["manifest_sha256"])

    reason = refusal_reason(state, digest)

    assert digest in reason
    assert "fedinsight node approve" in reason


def test_refusal_reason_is_empty_once_approved(tmp_path: Path) -> None:
    state = _node(tmp_path / "n", True)
    manifest = _manifest()
    approve(state, manifest)

    assert refusal_reason(state, manifest["manifest_sha256"]) == ""


def test_a_node_requiring_approval_refuses_a_run_until_it_approves_it(
    tmp_path: Path, this_run: tuple[RunSettings, dict[str, Any]]
) -> None:
    settings, manifest = this_run
    state = _node(tmp_path / "n", True)

    before = approval_refusal(state, {}, settings)
    approve(state, manifest)

    assert manifest["manifest_sha256"] in before
    assert approval_refusal(state, {}, settings) == ""


def test_an_approval_covers_only_the_approved_terms(
    tmp_path: Path, this_run: tuple[RunSettings, dict[str, Any]]
) -> None:
    settings, manifest = this_run
    state = _node(tmp_path / "n", True)
    approve(state, manifest)

    more_rounds = dataclasses.replace(settings, num_server_rounds=3)

    assert "not approved" in approval_refusal(state, {}, more_rounds)


def test_an_approval_holds_whatever_the_run_directory_and_audit_key(
    tmp_path: Path, this_run: tuple[RunSettings, dict[str, Any]]
) -> None:
    settings, manifest = this_run
    state = _node(tmp_path / "n", True)
    approve(state, manifest)

    as_run = dataclasses.replace(settings, run_dir="/c/runs/r1", audit_key="/c/audit.key")

    assert approval_refusal(state, {}, as_run) == ""


def test_a_node_not_requiring_approval_never_refuses(
    tmp_path: Path, this_run: tuple[RunSettings, dict[str, Any]]
) -> None:
    settings, _ = this_run

    assert approval_refusal(_node(tmp_path / "n", False), {}, settings) == ""
    assert (
        approval_refusal(_node(tmp_path / "m", True), {"require-approval": "false"}, settings) == ""
    )


# federation/settings.py: the deployment's keys -------------------------------------------------


def test_the_resilience_keys_parse() -> None:
    settings = RunSettings.from_mapping(
        {
            "round-timeout": "30",
            "evaluate-every": 3,
            "aggregation": "trimmed-mean",
            "trim-beta": 0.1,
            "max-update-norm": 0,
        }
    )

    assert settings.round_timeout == 30.0
    assert settings.evaluate_every == 3
    assert settings.aggregation == "trimmed-mean"
    assert settings.trim_beta == 0.1
    assert settings.max_update_norm == 0.0


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"round-timeout": 0}, "round-timeout"),
        ({"round-timeout": -5.0}, "round-timeout"),
        ({"round-timeout": "soon"}, "round-timeout"),
        ({"evaluate-every": 0}, "evaluate-every"),
        ({"evaluate-every": "2.5"}, "evaluate-every"),
        ({"aggregation": "krum"}, "aggregation"),
        ({"aggregation": "FedAvg"}, "aggregation"),
        ({"trim-beta": 0.5}, "trim-beta"),
        ({"trim-beta": -0.1}, "trim-beta"),
        ({"trim-beta": math.nan}, "trim-beta"),
        ({"max-update-norm": -1.0}, "max-update-norm"),
    ],
)
def test_a_bad_resilience_value_is_refused_naming_the_key(config: dict[str, Any], key: str) -> None:
    with pytest.raises(SettingsError, match=f"'{key}'"):
        RunSettings.from_mapping(config)


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({"max-update-norm": math.nan}, id="max-update-norm"),
        pytest.param({"round-timeout": math.nan}, id="round-timeout"),
    ],
)
def test_nan_is_refused(config: dict[str, Any]) -> None:
    with pytest.raises(SettingsError):
        RunSettings.from_mapping(config)


@pytest.mark.parametrize("aggregation", ["median", "trimmed-mean"])
def test_central_dp_needs_fedavg(aggregation: str) -> None:
    with pytest.raises(SettingsError, match="'central-dp' needs 'aggregation' = 'fedavg'"):
        RunSettings.from_mapping({"central-dp": True, "aggregation": aggregation})


def test_central_dp_with_fedavg_is_accepted() -> None:
    settings = RunSettings.from_mapping({"central-dp": "true", "aggregation": "fedavg"})

    assert settings.central_dp and settings.aggregation == "fedavg"
