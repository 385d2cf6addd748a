"""Where a node's pseudonymization key lives: outside its state folder, never silently remade."""

from __future__ import annotations

import logging
import stat
import tomllib
from pathlib import Path

import pytest

from anonymization import Pseudonymizer, generate_key_file
from client_node.errors import PartnerDataError
from client_node.home import NodeHome, init_node, open_state
from client_node.node_state import NodeState
from client_node.source import resolve_source
from coordinator.pki import create_tls

GOOD_CSV = "customer_id,timestamp,quantity,amount\n00001,1997-01-02,1,10.5\n"


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_tls(tmp_path_factory.mktemp("tls"), hosts=["127.0.0.1"]).ca_cert


def _init(root: Path, ca: Path, key: Path | None = None) -> NodeHome:
    data = root.parent / "events.csv"
    data.write_text(GOOD_CSV, encoding="utf-8")
    return init_node(
        root, name="p0", data_path=data, superlink="127.0.0.1:9555", root_certificates=ca,
        epsilon_budget=2.0, pseudonym_key=key,
    )  # fmt: skip


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_keeps_the_key_outside_the_folder_and_records_only_its_path(
    tmp_path: Path, ca_file: Path
) -> None:
    home = _init(tmp_path / "node", ca_file)

    key = home.state.pseudonym_key_path
    assert key == tmp_path / "keys" / "node" / "pseudonym.key"
    assert list(home.root.rglob("pseudonym.key")) == []
    assert _mode(key) == 0o600 and _mode(key.parent) == 0o700
    settings = tomllib.loads(home.config_path.read_text(encoding="utf-8"))
    assert settings["pseudonym-key"] == str(key)
    secret = key.read_text(encoding="ascii").strip().encode()
    assert not [p for p in home.root.rglob("*") if p.is_file() and secret in p.read_bytes()]


def test_init_uses_a_key_the_partner_already_keeps(tmp_path: Path, ca_file: Path) -> None:
    key = tmp_path / "vault" / "shop.key"
    key.parent.mkdir()
    before = generate_key_file(key)

    home = _init(tmp_path / "node", ca_file, key)

    assert home.state.pseudonym_key() == before


def test_init_refuses_a_key_inside_the_node_folder(tmp_path: Path, ca_file: Path) -> None:
    with pytest.raises(PartnerDataError, match="outside the node folder"):
        _init(tmp_path / "node", ca_file, tmp_path / "node" / "k" / "pseudonym.key")
    assert not (tmp_path / "node" / "node.toml").exists()


def test_a_node_folders_missing_key_is_an_error_naming_it_and_is_not_remade(
    tmp_path: Path, ca_file: Path
) -> None:
    home = _init(tmp_path / "node", ca_file)
    key = home.state.pseudonym_key_path
    key.unlink()

    with pytest.raises(PartnerDataError, match=f"{key}.*missing"):
        home.state.ensure()
    with pytest.raises(PartnerDataError, match=str(key)):
        resolve_source({}, {"node-dir": str(home.root)}).state.pseudonym_key()
    assert not key.exists()


def test_an_unreadable_key_is_an_error_naming_it(tmp_path: Path) -> None:
    state = NodeState(tmp_path / "state").ensure()
    state.pseudonym_key_path.write_text("not a key\n", encoding="ascii")

    with pytest.raises(PartnerDataError, match=str(state.pseudonym_key_path)):
        state.pseudonym_key()


def test_a_legacy_key_inside_the_folder_keeps_working_and_is_warned_about_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "old-node"
    root.mkdir()
    legacy = generate_key_file(root / "pseudonym.key")
    state = NodeState(root)

    with caplog.at_level(logging.WARNING, logger="client_node.node_state"):
        first = state.ensure().pseudonym_key()
        second = open_state(root).pseudonym_key()

    assert first == second == legacy
    assert not (tmp_path / "keys").exists()  # no second key made beside it
    warnings = [r for r in caplog.records if "inside the node's state folder" in r.getMessage()]
    assert len(warnings) == 1
    assert legacy.hex() not in caplog.text


def test_a_simulated_partner_keeps_its_key_in_a_separate_keys_folder(tmp_path: Path) -> None:
    homes = tmp_path / "partner-homes"
    (homes / "partner-0").mkdir(parents=True)
    (homes / "partner-0" / "raw.parquet").write_bytes(b"")

    source = resolve_source({"partners-dir": str(homes)}, {"partition-id": 0})
    pseudonym = Pseudonymizer(source.state.ensure().pseudonym_key()).pseudonym("c1")

    assert source.state.pseudonym_key_path == homes / "keys" / "partner-0" / "pseudonym.key"
    assert list((homes / "partner-0").rglob("pseudonym.key")) == []
    assert Pseudonymizer(source.state.pseudonym_key()).pseudonym("c1") == pseudonym


def test_node_init_on_a_terminal_asks_where_to_keep_the_key(tmp_path: Path, ca_file: Path) -> None:
    """`fedinsight node init` run on a terminal asks for the key's place (a real pty)."""
    import os
    import pty
    import subprocess
    import sys

    data = tmp_path / "events.csv"
    data.write_text(GOOD_CSV, encoding="utf-8")
    chosen = tmp_path / "vault" / "p0.key"
    parent, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "node", "init", str(tmp_path / "node"), "--name", "p0",
         "--data", str(data), "--superlink", "127.0.0.1:9555", "--root-cert", str(ca_file)],
        stdin=child, stdout=child, stderr=child, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    os.close(child)
    seen = b""
    while b"]: " not in seen:  # the prompt, with its default in brackets
        seen += os.read(parent, 4096)
    os.write(parent, f"{chosen}\n".encode())
    assert proc.wait(timeout=120) == 0
    os.close(parent)

    assert str(tmp_path / "keys" / "node" / "pseudonym.key").encode() in seen  # the default
    assert NodeHome(tmp_path / "node").state.pseudonym_key_path == chosen
    assert _mode(chosen) == 0o600
