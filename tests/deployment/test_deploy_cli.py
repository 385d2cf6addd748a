"""``fedinsight coordinator init|allow|manifest`` and ``fedinsight node init|approve|approvals``,
in process (no SuperLink or SuperNode is started)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from cli.main import app
from client_node.approval import approval_refusal, is_approved
from client_node.node_state import NodeState
from federation import RunSettings, find_app_dir, read_manifest

runner = CliRunner()


def _run(*args: str | Path, stdin: str | None = None) -> Result:
    return runner.invoke(app, [str(a) for a in args], input=stdin)


def _ok(*args: str | Path) -> Result:
    result = _run(*args)
    assert result.exit_code == 0, result.output
    return result


def _refused(result: Result, message: str) -> None:
    """Exit 1 with ``message`` and no traceback (an error, not a crash)."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert message in _text(result)


def _text(result: Result) -> str:
    """The output with rich's line wrapping undone (words joined by single spaces)."""
    return " ".join(result.output.split())


def _squashed(text: str) -> str:
    return "".join(text.split())


def _secrets(path: Path) -> list[str]:
    """What of a private key file must never be shown: its body and each line of it."""
    lines = [
        line.strip()
        for line in path.read_text(encoding="ascii").splitlines()
        if line.strip() and not line.startswith("-----")
    ]
    parts = ["".join(lines), *(line for line in lines if len(line) >= 24)]
    if lines and lines[0].startswith("PRIVATE+KEY+"):  # note-key text: PRIVATE+KEY+name+id+b64
        parts.append(lines[0].split("+", 4)[4])  # base64 may hold '+', a key name may not
    return parts


def _assert_no_secret(output: str, *keys: Path) -> None:
    squashed = _squashed(output)
    for key in keys:
        for secret in _secrets(key):
            assert secret not in squashed, f"{key.name} leaked into the output"


@pytest.fixture
def coordinator(tmp_path: Path) -> Path:
    folder = tmp_path / "coordinator"
    _ok("coordinator", "init", folder, "--address", "127.0.0.1:9555")
    return folder


GOOD_CSV = "customer_id,timestamp,quantity,amount\n00001,1997-01-02,1,10.5\n00002,1997-03-04,2,3\n"
SECRET = "ada.lovelace@example.org"


def _node_init(
    folder: Path, coordinator: Path, name: str = "p0", *extra: str, data: Path | None = None
) -> Result:
    """``node init``; by default with a readable data file ``<name>.csv`` next to the folder."""
    if data is None:
        data = folder.parent / f"{name}.csv"
        if not data.exists():
            data.write_text(GOOD_CSV, encoding="utf-8")
    return _run(
        "node", "init", folder,
        "--name", name,
        "--data", data,
        "--superlink", "127.0.0.1:9555",
        "--root-cert", coordinator / "tls" / "ca.pem",
        "--epsilon-budget", "2.0",
        *extra,
    )  # fmt: skip


@pytest.fixture
def node(tmp_path: Path, coordinator: Path) -> Path:
    folder = tmp_path / "p0"
    result = _node_init(folder, coordinator)
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def manifest_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("manifest") / "run.json"
    _ok("coordinator", "manifest", "--out", path, "--run-config", "num-server-rounds=2")
    return path


# coordinator init ------------------------------------------------------------------------------


def test_coordinator_init_makes_the_folder(coordinator: Path) -> None:
    config = tomllib.loads((coordinator / "coordinator.toml").read_text(encoding="utf-8"))

    assert config["address"] == "127.0.0.1:9555"
    for rel in (
        "tls/ca.pem",
        "tls/ca.key",
        "tls/server.pem",
        "tls/server.key",
        "audit.key",
        "audit.vkey",
        "flwr-home/config.toml",
    ):
        assert (coordinator / rel).is_file(), rel


def test_coordinator_init_shows_no_private_key(tmp_path: Path) -> None:
    folder = tmp_path / "c"

    result = _ok("coordinator", "init", folder, "--address", "127.0.0.1:9555")

    assert "tls/ca.pem" in _squashed(result.output)  # a long tmp path is folded mid-word
    _assert_no_secret(
        result.output, folder / "tls" / "ca.key", folder / "tls" / "server.key",
        folder / "audit.key",
    )  # fmt: skip


def test_coordinator_init_refuses_a_bad_address(tmp_path: Path) -> None:
    result = _run("coordinator", "init", tmp_path / "c", "--address", "localhost")

    _refused(result, "expected HOST:PORT")
    assert not (tmp_path / "c").exists()


def test_coordinator_init_refuses_a_second_init(coordinator: Path) -> None:
    _refused(
        _run("coordinator", "init", coordinator, "--address", "127.0.0.1:9555"), "already set up"
    )


# node init -------------------------------------------------------------------------------------


def test_node_init_makes_the_folder(node: Path, coordinator: Path) -> None:
    config = tomllib.loads((node / "node.toml").read_text(encoding="utf-8"))

    assert config["partner-name"] == "p0"
    assert config["epsilon-budget"] == 2.0
    assert config["require-approval"] is True
    assert (node / "ca.pem").read_bytes() == (coordinator / "tls" / "ca.pem").read_bytes()
    assert (
        (node / "auth" / "node.pub").read_text(encoding="utf-8").startswith("ecdsa-sha2-nistp384 ")
    )


def test_node_init_shows_no_private_key(tmp_path: Path, coordinator: Path) -> None:
    folder = tmp_path / "p0"

    result = _node_init(folder, coordinator)

    assert result.exit_code == 0, result.output
    assert "witness key: p0+" in _text(result)  # the verifier key, public
    _assert_no_secret(
        result.output, folder / "auth" / "node.key", tmp_path / "keys" / "p0" / "pseudonym.key",
        folder / "witness.key",
    )  # fmt: skip


def test_node_init_with_no_check_warns_when_the_data_file_does_not_exist_yet(
    tmp_path: Path, coordinator: Path
) -> None:
    result = _node_init(tmp_path / "p0", coordinator, "p0", "--no-check", data=tmp_path / "x.csv")

    assert result.exit_code == 0, result.output
    assert "does not exist yet" in _text(result)
    assert (tmp_path / "p0" / "node.toml").is_file()


def test_node_init_refuses_a_missing_data_file_and_writes_no_folder(
    tmp_path: Path, coordinator: Path
) -> None:
    missing = tmp_path / "nowhere.csv"

    _refused(_node_init(tmp_path / "p0", coordinator, data=missing), "not found")
    assert not (tmp_path / "p0").exists()


def test_node_init_refuses_a_file_without_a_required_column(
    tmp_path: Path, coordinator: Path
) -> None:
    data = tmp_path / "events.csv"
    data.write_text("customer_id,quantity,amount\n00001,1,10.5\n", encoding="utf-8")

    result = _node_init(tmp_path / "p0", coordinator, data=data)

    _refused(result, "missing required column 'timestamp'")
    assert "events.csv" in _squashed(result.output)
    assert not (tmp_path / "p0").exists()


def test_node_init_with_no_check_accepts_an_unreadable_file(
    tmp_path: Path, coordinator: Path
) -> None:
    data = tmp_path / "events.csv"
    data.write_text("customer_id,timestamp,quantity\n00001,1997-01-02,1\n", encoding="utf-8")

    result = _node_init(tmp_path / "p0", coordinator, "p0", "--no-check", data=data)

    assert result.exit_code == 0, result.output
    assert (tmp_path / "p0" / "node.toml").is_file()


def test_node_init_refuses_a_bad_partner_name(tmp_path: Path, coordinator: Path) -> None:
    _refused(_node_init(tmp_path / "p0", coordinator, name="p 0"), "partner name")
    assert not (tmp_path / "p0").exists()


def test_node_init_refuses_a_missing_ca_certificate(tmp_path: Path) -> None:
    result = _node_init(tmp_path / "p0", tmp_path / "no-coordinator")

    _refused(result, "CA certificate not found")


def test_node_init_refuses_a_second_init(node: Path, coordinator: Path) -> None:
    _refused(_node_init(node, coordinator), "already a node")


# node check and node start's check --------------------------------------------------------------


def _break_data(node: Path, text: str) -> Path:
    data = node.parent / "p0.csv"
    data.write_text(text, encoding="utf-8")
    return data


def test_node_check_reports_counts_and_days_only(node: Path) -> None:
    result = _ok("node", "check", node)

    text = _text(result)
    for label, value in (("rows read", "2"), ("customers", "2"), ("first day", "1997-01-02")):
        assert f"│ {label} │ {value} │" in text, text
    assert "1997-03-04" in text
    for value in ("00001", "00002", "10.5"):  # customer ids and amounts never shown
        assert value not in text


def test_node_check_names_the_line_of_a_malformed_row(node: Path) -> None:
    data = _break_data(node, GOOD_CSV + f"00003,{SECRET},1,1\n")

    result = _run("node", "check", node)

    _refused(result, "line 4")
    assert "'timestamp'" in _text(result)
    assert str(data) in _squashed(result.output)
    assert SECRET not in _squashed(result.output)


def test_node_check_refuses_a_folder_that_is_no_node(tmp_path: Path) -> None:
    _refused(_run("node", "check", tmp_path), "not a node folder")


def test_node_start_stops_on_bad_data_before_starting_flower(
    node: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cli.node_start_cmd

    started: list[list[str]] = []
    monkeypatch.setattr(
        cli.node_start_cmd, "run_foreground", lambda cmd, **_kw: started.append(cmd) or 0
    )
    _break_data(node, "customer_id,quantity,amount\n00001,1,10.5\n")

    result = _run("node", "start", node)

    _refused(result, "missing required column 'timestamp'")
    assert started == []


def test_node_start_checks_good_data_then_starts_flower(
    node: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cli.node_start_cmd

    started: list[list[str]] = []
    monkeypatch.setattr(
        cli.node_start_cmd, "run_foreground", lambda cmd, **_kw: started.append(cmd) or 0
    )

    result = _ok("node", "start", node)

    assert "2 rows, 2 customers" in _text(result)
    assert len(started) == 1 and "--superlink" in started[0]


# coordinator allow -----------------------------------------------------------------------------


def test_coordinator_allow_copies_the_node_key(coordinator: Path, node: Path) -> None:
    result = _ok("coordinator", "allow", coordinator, node / "auth" / "node.pub", "--name", "p0")

    allowed = coordinator / "nodes" / "p0.pub"
    assert allowed.read_bytes() == (node / "auth" / "node.pub").read_bytes()
    assert "allowed p0 (SHA256:" in _text(result)


def test_coordinator_allow_refuses_the_same_key_twice(coordinator: Path, node: Path) -> None:
    _ok("coordinator", "allow", coordinator, node / "auth" / "node.pub", "--name", "p0")

    result = _run("coordinator", "allow", coordinator, node / "auth" / "node.pub", "--name", "p1")

    _refused(result, "already allowed as 'p0'")
    assert not (coordinator / "nodes" / "p1.pub").exists()


def test_coordinator_allow_needs_a_coordinator_folder(tmp_path: Path, node: Path) -> None:
    result = _run(
        "coordinator", "allow", tmp_path / "nowhere", node / "auth" / "node.pub", "--name", "p0"
    )

    _refused(result, "not a coordinator folder")


def test_coordinator_allow_refuses_a_pem_public_key_cleanly(
    coordinator: Path, tmp_path: Path
) -> None:
    pem = tmp_path / "p0.pem"
    pem.write_text(
        "-----BEGIN PUBLIC KEY-----\nMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE\n", encoding="ascii"
    )

    _refused(_run("coordinator", "allow", coordinator, pem, "--name", "p0"), str(pem))


# coordinator manifest --------------------------------------------------------------------------


def test_coordinator_manifest_writes_a_checked_manifest(manifest_file: Path) -> None:
    manifest = read_manifest(manifest_file)

    assert manifest["training"]["num-server-rounds"] == 2
    assert len(manifest["code_sha256"]) == 64


def test_coordinator_manifest_shows_its_hash(tmp_path: Path) -> None:
    out = tmp_path / "m.json"

    result = _ok("coordinator", "manifest", "--out", out, "--run-config", "local-epochs=3")

    manifest = read_manifest(out)
    assert manifest["training"]["local-epochs"] == 3
    assert manifest["manifest_sha256"][:16] in _text(result)


def test_coordinator_manifest_refuses_an_unknown_key(tmp_path: Path) -> None:
    out = tmp_path / "m.json"

    result = _run("coordinator", "manifest", "--out", out, "--run-config", "num-rounds=2")

    _refused(result, "--run-config: unknown key(s) num-rounds")
    assert not out.exists()


def test_coordinator_manifest_refuses_a_bad_value(tmp_path: Path) -> None:
    out = tmp_path / "m.json"

    result = _run("coordinator", "manifest", "--out", out, "--run-config", 'aggregation="krum"')

    _refused(result, "'aggregation' must be")
    assert not out.exists()


def test_coordinator_manifest_refuses_an_unparsable_run_config(tmp_path: Path) -> None:
    result = _run(
        "coordinator",
        "manifest",
        "--out",
        tmp_path / "m.json",
        "--run-config",
        "num-server-rounds=2,local-epochs=1",
    )

    _refused(result, "--run-config 'num-server-rounds=2,local-epochs=1'")


def test_coordinator_manifest_refuses_a_pair_without_equals(tmp_path: Path) -> None:
    result = _run(
        "coordinator",
        "manifest",
        "--out",
        tmp_path / "m.json",
        "--run-config",
        "num-server-rounds 2",
    )

    assert result.exit_code == 1


# node approve, node approvals ------------------------------------------------------------------


def test_node_approve_with_yes_records_the_approval(node: Path, manifest_file: Path) -> None:
    digest = read_manifest(manifest_file)["manifest_sha256"]

    result = _ok("node", "approve", node, manifest_file, "--yes")

    assert is_approved(NodeState(node), digest)
    assert f"approved{digest}" in _squashed(result.output)


def test_the_node_accepts_the_run_it_approved_with_the_coordinators_paths(
    node: Path, manifest_file: Path
) -> None:
    _ok("node", "approve", node, manifest_file, "--yes")
    defaults = tomllib.loads((find_app_dir() / "pyproject.toml").read_text())["tool"]["flwr"][
        "app"
    ]["config"]

    # The run config a SuperNode receives from `fedinsight coordinator run`.
    received = {
        **defaults,
        "num-server-rounds": 2,
        "run-dir": "/c/runs/r1",
        "audit-key": "/c/audit.key",
    }

    assert approval_refusal(NodeState(node), {}, RunSettings.from_mapping(received)) == ""


def test_node_approve_asks_and_a_no_approves_nothing(node: Path, manifest_file: Path) -> None:
    result = _run("node", "approve", node, manifest_file, stdin="n\n")

    assert result.exit_code == 1
    assert not (node / "approvals").exists() or not any((node / "approvals").iterdir())


def test_node_approve_takes_several_manifests_and_asks_for_each(
    node: Path, manifest_file: Path, tmp_path: Path
) -> None:
    other = tmp_path / "three-rounds.json"
    _ok("coordinator", "manifest", "--out", other, "--run-config", "num-server-rounds=3")
    digests = [read_manifest(m)["manifest_sha256"] for m in (manifest_file, other)]

    declined = _run("node", "approve", node, manifest_file, other, stdin="y\nn\n")

    assert declined.exit_code == 1
    assert is_approved(NodeState(node), digests[0])
    assert not is_approved(NodeState(node), digests[1])
    assert _text(declined).count("approve this run on your data?") == 2

    _ok("node", "approve", node, other, "--yes")
    assert is_approved(NodeState(node), digests[1])


@pytest.mark.parametrize("bad", ["missing", "edited"])
def test_node_approve_reads_every_manifest_before_approving_any(
    node: Path, manifest_file: Path, tmp_path: Path, bad: str
) -> None:
    wrong = tmp_path / f"{bad}.json"
    if bad == "edited":  # a coordinator's manifest whose terms no longer match its hash
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        manifest["dp"]["target-epsilon"] = 100.0
        wrong.write_text(json.dumps(manifest), encoding="utf-8")

    result = _run("node", "approve", node, manifest_file, wrong, "--yes")

    assert result.exit_code == 1, result.output
    assert f"{bad}.json" in _squashed(result.output)
    assert not (node / "approvals").exists() or not any((node / "approvals").iterdir())


def test_node_approve_refuses_an_edited_manifest(
    node: Path, manifest_file: Path, tmp_path: Path
) -> None:
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    manifest["dp"]["target-epsilon"] = 100.0
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(manifest), encoding="utf-8")

    result = _run("node", "approve", node, edited, "--yes")

    _refused(result, "does not match the manifest's content")
    assert not (node / "approvals").exists()


def test_node_approve_refuses_a_folder_that_is_not_a_node(
    tmp_path: Path, manifest_file: Path
) -> None:
    result = _run("node", "approve", tmp_path / "typo", manifest_file, "--yes")

    assert result.exit_code == 1
    assert not (tmp_path / "typo").exists()


def test_node_approvals_lists_nothing_before_an_approval(node: Path) -> None:
    assert "no run approved" in _text(_ok("node", "approvals", node))


def test_node_approvals_lists_an_approved_run(node: Path, manifest_file: Path) -> None:
    digest = read_manifest(manifest_file)["manifest_sha256"]
    _ok("node", "approve", node, manifest_file, "--yes")

    result = _ok("node", "approvals", node)

    assert digest in _squashed(result.output)
    assert "rounds=2" in _text(result)
