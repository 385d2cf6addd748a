"""The deployment engine's folders, without Flower: the coordinator's CA and server certificate,
its allow-list of SuperNode keys, a partner's node folder and where a node finds its data."""

from __future__ import annotations

import ipaddress
import math
import stat
import tomllib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from anonymization import PartnerSchema
from audit import read_signer, read_vkey
from client_node.errors import PartnerDataError
from client_node.home import NodeHome, create_node_keys, init_node, supernode_command
from client_node.source import resolve_source
from coordinator.errors import CoordinatorError
from coordinator.home import (
    CoordinatorHome,
    allow_node,
    init_coordinator,
    superlink_command,
    write_flwr_config,
)
from coordinator.pki import TlsFiles, create_tls, load_node_public_key, public_key_fingerprint

HOSTS = ("coordinator.example.org", "10.0.0.7", "localhost", "127.0.0.1")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _san(cert: x509.Certificate) -> x509.SubjectAlternativeName:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def _ssh_public(
    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey,
) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )


def _node_key(folder: Path, name: str = "p0") -> Path:
    """A SuperNode public key file (EC P-384), as ``fedinsight node init`` makes it."""
    public = folder / f"{name}.pub"
    create_node_keys(folder / f"{name}.key", public, comment=name)
    return public


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return create_tls(tmp_path_factory.mktemp("tls"), HOSTS)


@pytest.fixture
def coordinator(tmp_path: Path) -> CoordinatorHome:
    return init_coordinator(tmp_path / "coordinator", address="127.0.0.1:9555")


@pytest.fixture
def ca_file(tls: TlsFiles) -> Path:
    return tls.ca_cert


def _init_node(root: Path, ca: Path, **overrides: object) -> NodeHome:
    kwargs: dict[str, object] = {
        "name": "p0",
        "data_path": root.parent / "events.parquet",
        "superlink": "coordinator.example.org:9555",
        "root_certificates": ca,
        "epsilon_budget": 2.5,
        "check_data": False,  # these tests are about the folder; data checks: test_data_check
    }
    kwargs.update(overrides)
    return init_node(root, **kwargs)  # type: ignore[arg-type]


# coordinator/pki.py: create_tls ----------------------------------------------------------------


def test_server_certificate_verifies_against_its_ca(tls: TlsFiles) -> None:
    _cert(tls.server_cert).verify_directly_issued_by(_cert(tls.ca_cert))


def test_server_certificate_does_not_verify_against_another_ca(
    tls: TlsFiles, tmp_path: Path
) -> None:
    other = create_tls(tmp_path / "other", HOSTS)

    # Same subject name (both are "fedinsight federation CA"): only the signature tells them apart.
    with pytest.raises(InvalidSignature):
        _cert(tls.server_cert).verify_directly_issued_by(_cert(other.ca_cert))


def test_server_certificate_names_every_host_as_dns_name_or_ip(tls: TlsFiles) -> None:
    san = _san(_cert(tls.server_cert))

    assert san.get_values_for_type(x509.DNSName) == ["coordinator.example.org", "localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("10.0.0.7"),
        ipaddress.ip_address("127.0.0.1"),
    ]


def test_ca_is_a_ca_and_the_server_certificate_is_not(tls: TlsFiles) -> None:
    ca = _cert(tls.ca_cert).extensions.get_extension_for_class(x509.BasicConstraints)
    server = _cert(tls.server_cert).extensions.get_extension_for_class(x509.BasicConstraints)

    assert ca.value.ca is True and ca.critical
    assert server.value.ca is False


def test_server_key_belongs_to_the_server_certificate(tls: TlsFiles) -> None:
    key = serialization.load_pem_private_key(tls.server_key.read_bytes(), password=None)

    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert _cert(tls.server_cert).public_key() == key.public_key()


def test_private_keys_are_mode_0600(tls: TlsFiles) -> None:
    assert _mode(tls.ca_key) == 0o600
    assert _mode(tls.server_key) == 0o600


def test_create_tls_refuses_to_overwrite_an_existing_key(tmp_path: Path) -> None:
    files = create_tls(tmp_path / "tls", HOSTS)
    before = files.ca_key.read_bytes()

    with pytest.raises(FileExistsError):
        create_tls(tmp_path / "tls", HOSTS)

    assert files.ca_key.read_bytes() == before


# coordinator/pki.py: node public keys ----------------------------------------------------------


def test_an_ec_openssh_key_loads(tmp_path: Path) -> None:
    key = load_node_public_key(_node_key(tmp_path))

    assert key.curve.name == "secp384r1"


@pytest.mark.parametrize(
    "private_key",
    [ed25519.Ed25519PrivateKey.generate(), rsa.generate_private_key(65537, 2048)],
    ids=["ed25519", "rsa"],
)
def test_a_non_ec_key_is_refused_naming_the_file(
    tmp_path: Path, private_key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
) -> None:
    path = tmp_path / "node.pub"
    path.write_bytes(_ssh_public(private_key) + b" p0\n")

    with pytest.raises(ValueError, match="must be an EC key") as info:
        load_node_public_key(path)

    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"ecdsa-sha2-nistp384 AAAA!!\n",
        b"ssh-dss AAAAB3NzaC1kc3MAAACBAP1\n",
        pytest.param(b"not a key at all\n", id="words"),
        pytest.param(b"-----BEGIN PUBLIC KEY-----\nMHYw\n", id="pem"),
    ],
)
def test_garbage_is_refused_naming_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "node.pub"
    path.write_bytes(content)

    with pytest.raises(ValueError, match="not an OpenSSH public key") as info:
        load_node_public_key(path)

    assert str(path) in str(info.value)


def test_a_missing_key_file_is_a_value_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"missing\.pub"):
        load_node_public_key(tmp_path / "missing.pub")


def test_fingerprint_is_stable_and_distinguishes_keys(tmp_path: Path) -> None:
    path = _node_key(tmp_path, "p0")
    other = _node_key(tmp_path, "p1")

    first = public_key_fingerprint(load_node_public_key(path))

    assert first == public_key_fingerprint(load_node_public_key(path))
    assert first != public_key_fingerprint(load_node_public_key(other))
    assert first.startswith("SHA256:") and len(first) == len("SHA256:") + 32
    int(first.removeprefix("SHA256:"), 16)


# client_node/home.py: create_node_keys ---------------------------------------------------------


def test_node_private_key_is_an_openssh_p384_key(tmp_path: Path) -> None:
    create_node_keys(tmp_path / "node.key", tmp_path / "node.pub")

    data = (tmp_path / "node.key").read_bytes()
    key = serialization.load_ssh_private_key(data, password=None)

    assert data.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.curve.name == "secp384r1"


def test_node_private_key_is_mode_0600(tmp_path: Path) -> None:
    create_node_keys(tmp_path / "node.key", tmp_path / "node.pub")

    assert _mode(tmp_path / "node.key") == 0o600


def test_node_public_line_is_the_private_keys_public_key(tmp_path: Path) -> None:
    line = create_node_keys(tmp_path / "node.key", tmp_path / "node.pub", comment="p0")

    key = serialization.load_ssh_private_key((tmp_path / "node.key").read_bytes(), password=None)

    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert line == _ssh_public(key).decode() + " p0"
    assert (tmp_path / "node.pub").read_text(encoding="utf-8") == line + "\n"


def test_node_keys_are_never_overwritten(tmp_path: Path) -> None:
    create_node_keys(tmp_path / "node.key", tmp_path / "node.pub")
    before = (tmp_path / "node.key").read_bytes()

    with pytest.raises(FileExistsError):
        create_node_keys(tmp_path / "node.key", tmp_path / "node.pub")

    assert (tmp_path / "node.key").read_bytes() == before


# client_node/home.py: init_node ----------------------------------------------------------------


def test_init_node_writes_the_settings(tmp_path: Path, ca_file: Path) -> None:
    home = _init_node(tmp_path / "node", ca_file, runtime_port=9200)

    config = tomllib.loads(home.config_path.read_text(encoding="utf-8"))

    assert config == {
        "partner-name": "p0",
        "data-path": str((tmp_path / "events.parquet").resolve()),
        "schema-path": "schema.toml",
        "pseudonym-key": str(tmp_path.resolve() / "keys" / "node" / "pseudonym.key"),
        "epsilon-budget": 2.5,
        "require-approval": True,
        "superlink": "coordinator.example.org:9555",
        "root-certificates": "ca.pem",
        "runtime-port": 9200,
    }


def test_init_node_stores_a_relative_data_path_as_absolute(
    tmp_path: Path, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    home = _init_node(Path("node"), ca_file, data_path=Path("data/events.csv"))

    assert home.data_path() == tmp_path.resolve() / "data" / "events.csv"


def test_init_node_makes_keys_ca_and_schema(tmp_path: Path, ca_file: Path) -> None:
    home = _init_node(tmp_path / "node", ca_file)

    assert _mode(home.private_key) == 0o600
    assert load_node_public_key(home.public_key).curve.name == "secp384r1"
    assert home.ca_cert.read_bytes() == ca_file.read_bytes()
    assert PartnerSchema.load(home.root / "schema.toml").customer_id == "customer_id"
    assert _mode(home.state.pseudonym_key_path) == 0o600
    assert read_signer(home.root / "witness.key").name == "p0"
    assert _mode(home.root / "witness.key") == 0o600


def test_init_node_copies_a_given_schema(tmp_path: Path, ca_file: Path) -> None:
    schema = tmp_path / "given.toml"
    PartnerSchema("client_no", text_columns=("notes",)).save(schema)

    home = _init_node(tmp_path / "node", ca_file, schema_path=schema)

    copied = PartnerSchema.load(home.root / "schema.toml")
    assert (copied.customer_id, copied.text_columns) == ("client_no", ("notes",))


def test_a_second_init_in_the_same_folder_is_refused(tmp_path: Path, ca_file: Path) -> None:
    home = _init_node(tmp_path / "node", ca_file)
    before = home.config_path.read_bytes()

    with pytest.raises(PartnerDataError, match="already a node"):
        _init_node(tmp_path / "node", ca_file, name="p1")

    assert home.config_path.read_bytes() == before


def test_init_node_refuses_a_missing_ca_file_and_writes_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "ca.pem"

    with pytest.raises(PartnerDataError, match="CA certificate not found") as info:
        _init_node(tmp_path / "node", missing)

    assert str(missing) in str(info.value)
    assert not (tmp_path / "node").exists()


@pytest.mark.parametrize("budget", [0.0, -1.0, math.nan])
def test_init_node_refuses_a_budget_not_above_zero(
    tmp_path: Path, ca_file: Path, budget: float
) -> None:
    with pytest.raises(PartnerDataError, match="epsilon budget must be > 0"):
        _init_node(tmp_path / "node", ca_file, epsilon_budget=budget)

    assert not (tmp_path / "node").exists()


def test_init_node_refuses_unreadable_data_and_writes_nothing(
    tmp_path: Path, ca_file: Path
) -> None:
    data = tmp_path / "events.csv"
    data.write_text("customer_id,quantity,amount\nc1,1,10\n", encoding="utf-8")

    with pytest.raises(PartnerDataError, match="missing required column 'timestamp'") as info:
        _init_node(tmp_path / "node", ca_file, data_path=data, check_data=True)

    assert str(data) in str(info.value)
    assert not (tmp_path / "node").exists()


def test_init_node_can_be_retried_after_a_bad_schema(tmp_path: Path, ca_file: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("this is = = not toml\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"bad\.toml"):
        _init_node(tmp_path / "node", ca_file, schema_path=bad)

    home = _init_node(tmp_path / "node", ca_file)

    assert home.config_path.exists()


# client_node/home.py: supernode_command --------------------------------------------------------


def _after(cmd: list[str], flag: str) -> str:
    assert flag in cmd, f"{flag} missing from {cmd}"
    return cmd[cmd.index(flag) + 1]


def test_supernode_command_uses_tls_auth_key_and_node_folder(tmp_path: Path, ca_file: Path) -> None:
    home = _init_node(tmp_path / "node", ca_file)

    cmd = supernode_command(home, ["/bin/python", "-m", "launcher"])

    assert cmd[:3] == ["/bin/python", "-m", "launcher"]
    assert _after(cmd, "--superlink") == "coordinator.example.org:9555"
    assert _after(cmd, "--root-certificates") == str(home.root / "ca.pem")
    assert _after(cmd, "--auth-supernode-private-key") == str(home.private_key)
    assert _after(cmd, "--port") == "9094"
    assert _after(cmd, "--node-config") == f'node-dir="{home.root}"'


def test_supernode_command_appends_extra_node_config(tmp_path: Path, ca_file: Path) -> None:
    home = _init_node(tmp_path / "node", ca_file)

    cmd = supernode_command(home, ["flower-supernode"], extra='inject-fault="nan"')

    assert _after(cmd, "--node-config") == f'node-dir="{home.root}" inject-fault="nan"'


def test_supernode_command_needs_a_node_folder(tmp_path: Path) -> None:
    with pytest.raises(PartnerDataError, match="not a node folder"):
        supernode_command(NodeHome(tmp_path), ["flower-supernode"])


# coordinator/home.py: init_coordinator ---------------------------------------------------------


def test_init_coordinator_writes_its_settings(coordinator: CoordinatorHome) -> None:
    config = tomllib.loads(coordinator.config_path.read_text(encoding="utf-8"))

    assert config == {"address": "127.0.0.1:9555", "listen-host": "127.0.0.1"}
    assert coordinator.port == 9555


def test_init_coordinator_makes_tls_keys_and_folders(coordinator: CoordinatorHome) -> None:
    assert coordinator.tls.exist()
    assert _mode(coordinator.tls.ca_key) == 0o600
    assert _mode(coordinator.tls.server_key) == 0o600
    assert coordinator.nodes_dir.is_dir() and coordinator.allow_list() == {}
    assert coordinator.runs_dir.is_dir()
    assert (coordinator.flwr_home / "config.toml").is_file()


def test_init_coordinator_audit_key_is_0600_and_its_vkey_readable(
    coordinator: CoordinatorHome,
) -> None:
    verifier = read_vkey(coordinator.root / "audit.vkey")

    assert _mode(coordinator.audit_key) == 0o600
    assert verifier == coordinator.signer().verifier


def test_init_coordinator_certificate_names_the_address_host_and_extra_names(
    tmp_path: Path,
) -> None:
    home = init_coordinator(tmp_path / "c", address="coord.example.org:9091", names=("10.1.2.3",))

    san = _san(_cert(home.tls.server_cert))

    assert san.get_values_for_type(x509.DNSName) == ["coord.example.org", "localhost"]
    assert ipaddress.ip_address("10.1.2.3") in san.get_values_for_type(x509.IPAddress)


@pytest.mark.parametrize("address", ["127.0.0.1", ":9091", "host:", "host:port", ""])
def test_init_coordinator_refuses_a_bad_address_and_writes_nothing(
    tmp_path: Path, address: str
) -> None:
    with pytest.raises(CoordinatorError, match="expected HOST:PORT"):
        init_coordinator(tmp_path / "c", address=address)

    assert not (tmp_path / "c").exists()


def test_init_coordinator_refuses_a_second_init(coordinator: CoordinatorHome) -> None:
    with pytest.raises(CoordinatorError, match="already set up"):
        init_coordinator(coordinator.root, address="127.0.0.1:9555")


def test_init_coordinator_refuses_a_port_out_of_range(tmp_path: Path) -> None:
    with pytest.raises(CoordinatorError):
        init_coordinator(tmp_path / "c", address="127.0.0.1:99999")


def test_init_coordinator_puts_a_bracketed_ipv6_host_in_the_certificate_as_an_ip(
    tmp_path: Path,
) -> None:
    home = init_coordinator(tmp_path / "c", address="[::1]:9091")

    san = _san(_cert(home.tls.server_cert))

    assert ipaddress.ip_address("::1") in san.get_values_for_type(x509.IPAddress)


def test_init_coordinator_makes_a_valid_key_name_from_any_folder_name(tmp_path: Path) -> None:
    home = init_coordinator(tmp_path / "my coordinator+1", address="127.0.0.1:9555")

    assert home.signer().name == "fedinsight/my-coordinator-1"


# coordinator/home.py: allow_node ---------------------------------------------------------------


def test_allow_node_copies_the_key_and_returns_its_fingerprint(
    coordinator: CoordinatorHome, tmp_path: Path
) -> None:
    public = _node_key(tmp_path)

    target, fingerprint = allow_node(coordinator, public, "p0")

    assert target == coordinator.nodes_dir / "p0.pub"
    assert target.read_bytes() == public.read_bytes()
    assert fingerprint == public_key_fingerprint(load_node_public_key(public))
    assert coordinator.allow_list() == {"p0": target}


def test_allow_node_refuses_a_non_ec_key(coordinator: CoordinatorHome, tmp_path: Path) -> None:
    public = tmp_path / "p0.pub"
    public.write_bytes(_ssh_public(ed25519.Ed25519PrivateKey.generate()) + b"\n")

    with pytest.raises(CoordinatorError, match="EC key"):
        allow_node(coordinator, public, "p0")

    assert coordinator.allow_list() == {}


def test_allow_node_refuses_the_same_key_under_a_second_name(
    coordinator: CoordinatorHome, tmp_path: Path
) -> None:
    public = _node_key(tmp_path)
    allow_node(coordinator, public, "p0")

    with pytest.raises(CoordinatorError, match="already allowed as 'p0'"):
        allow_node(coordinator, public, "p1")

    assert set(coordinator.allow_list()) == {"p0"}


def test_allow_node_refuses_a_second_key_under_the_same_name(
    coordinator: CoordinatorHome, tmp_path: Path
) -> None:
    first = _node_key(tmp_path, "first")
    allow_node(coordinator, first, "p0")

    with pytest.raises(CoordinatorError, match="already allowed as 'p0'"):
        allow_node(coordinator, _node_key(tmp_path, "second"), "p0")

    assert (coordinator.nodes_dir / "p0.pub").read_bytes() == first.read_bytes()


@pytest.mark.parametrize("name", ["", "-p0", "p 0", "../p0", "p/0", "p0\n", "x" * 65])
def test_allow_node_refuses_a_bad_partner_name(
    coordinator: CoordinatorHome, tmp_path: Path, name: str
) -> None:
    with pytest.raises(CoordinatorError, match="partner name"):
        allow_node(coordinator, _node_key(tmp_path), name)

    assert coordinator.allow_list() == {}


# coordinator/home.py: superlink_command, write_flwr_config ----------------------------------


def test_superlink_command_enables_tls_auth_and_a_database(
    coordinator: CoordinatorHome,
) -> None:
    cmd = superlink_command(coordinator, "/bin/flower-superlink")

    assert cmd[0] == "/bin/flower-superlink"
    assert "--enable-supernode-auth" in cmd
    assert _after(cmd, "--ssl-certfile") == str(coordinator.tls.server_cert)
    assert _after(cmd, "--ssl-keyfile") == str(coordinator.tls.server_key)
    assert _after(cmd, "--ssl-ca-certfile") == str(coordinator.tls.ca_cert)
    assert _after(cmd, "--database") == str(coordinator.root / "superlink.db")
    assert _after(cmd, "--port") == "9555"
    assert _after(cmd, "--host") == "127.0.0.1"


def test_superlink_command_refuses_missing_tls_files(coordinator: CoordinatorHome) -> None:
    coordinator.tls.server_key.unlink()

    with pytest.raises(CoordinatorError, match="TLS files missing"):
        superlink_command(coordinator, "flower-superlink")


def test_flwr_config_names_the_connection_with_the_ca(coordinator: CoordinatorHome) -> None:
    path = write_flwr_config(coordinator)

    config = tomllib.loads(path.read_text(encoding="utf-8"))

    assert config["superlink"]["default"] == "fedinsight"
    assert config["superlink"]["fedinsight"] == {
        "address": "127.0.0.1:9555",
        "root-certificates": str(coordinator.tls.ca_cert),
    }


def test_flwr_config_survives_a_quote_in_the_folder_name(tmp_path: Path) -> None:
    home = init_coordinator(tmp_path / 'co"ord', address="127.0.0.1:9555")

    config = tomllib.loads((home.flwr_home / "config.toml").read_text(encoding="utf-8"))

    assert config["superlink"]["fedinsight"]["root-certificates"] == str(home.tls.ca_cert)


# client_node/source.py: resolve_source ---------------------------------------------------------


def _node_toml(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "node.toml").write_text(text, encoding="utf-8")
    return root


def test_node_dir_reads_name_relative_data_and_schema_from_node_toml(tmp_path: Path) -> None:
    root = _node_toml(
        tmp_path / "node",
        'partner-name = "retailer-b"\ndata-path = "data/events.parquet"\n'
        'schema-path = "schema.toml"\n',
    )

    source = resolve_source({}, {"node-dir": str(root)})

    assert source.name == "retailer-b"
    assert source.raw_path == root / "data" / "events.parquet"
    assert source.schema_path == root / "schema.toml"
    assert source.state.root == root
    assert source.partition_id is None


def test_node_dir_keeps_an_absolute_data_path(tmp_path: Path) -> None:
    data = tmp_path / "elsewhere" / "events.csv"
    root = _node_toml(tmp_path / "node", f'data-path = "{data}"\n')

    source = resolve_source({}, {"node-dir": str(root)})

    assert source.raw_path == data
    assert source.name == "node"  # no partner-name: the folder's name
    assert source.schema_path is None


def test_node_dir_without_node_toml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PartnerDataError, match="not a node folder"):
        resolve_source({}, {"node-dir": str(tmp_path)})


def test_node_dir_without_data_path_is_refused(tmp_path: Path) -> None:
    root = _node_toml(tmp_path / "node", 'partner-name = "p0"\n')

    with pytest.raises(PartnerDataError, match="no data-path"):
        resolve_source({}, {"node-dir": str(root)})


def test_data_path_with_state_dir(tmp_path: Path) -> None:
    source = resolve_source(
        {"schema-path": "/run/schema.toml"},
        {"data-path": str(tmp_path / "shop.csv"), "state-dir": str(tmp_path / "state")},
    )

    assert (source.name, source.raw_path) == ("shop", tmp_path / "shop.csv")
    assert source.state.root == tmp_path / "state"
    assert source.schema_path == Path("/run/schema.toml")


def test_data_path_node_config_names_and_schema_win(tmp_path: Path) -> None:
    source = resolve_source(
        {"schema-path": "/run/schema.toml"},
        {
            "data-path": str(tmp_path / "shop.csv"),
            "state-dir": str(tmp_path / "state"),
            "partner-name": "p7",
            "schema-path": "/node/schema.toml",
        },
    )

    assert source.name == "p7"
    assert source.schema_path == Path("/node/schema.toml")


def test_data_path_without_state_dir_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PartnerDataError, match="no 'state-dir'"):
        resolve_source({}, {"data-path": str(tmp_path / "shop.csv")})


def _partner_homes(folder: Path) -> Path:
    """Homes 'a' and 'b' with raw data; 'c' without; a stray file."""
    for name in ("b", "a"):
        (folder / name).mkdir(parents=True)
        (folder / name / "raw.parquet").write_bytes(b"")
    (folder / "c").mkdir()
    (folder / "notes.txt").write_text("not a home", encoding="utf-8")
    return folder


def test_partition_id_picks_a_partner_home_in_name_order(tmp_path: Path) -> None:
    homes = _partner_homes(tmp_path / "partners")

    source = resolve_source(
        {"partners-dir": str(homes), "schema-path": "s.toml"}, {"partition-id": 1}
    )

    assert source.name == "b"
    assert source.raw_path == homes / "b" / "raw.parquet"
    assert source.state.root == homes / "b"
    assert source.schema_path == Path("s.toml")


def test_partition_id_beyond_the_homes_is_refused(tmp_path: Path) -> None:
    homes = _partner_homes(tmp_path / "partners")

    with pytest.raises(PartnerDataError, match="partition-id 2 but only 2 partner homes"):
        resolve_source({"partners-dir": str(homes)}, {"partition-id": 2})


def test_a_negative_partition_id_is_refused(tmp_path: Path) -> None:
    homes = _partner_homes(tmp_path / "partners")

    with pytest.raises(PartnerDataError):
        resolve_source({"partners-dir": str(homes)}, {"partition-id": -1})


def test_partition_id_alone_is_a_split_under_the_run_dir(tmp_path: Path) -> None:
    source = resolve_source({"run-dir": str(tmp_path / "run")}, {"partition-id": "3"})

    assert (source.name, source.raw_path, source.partition_id) == ("partition-3", None, 3)
    assert source.state.root == tmp_path / "run" / "partner-homes" / "partition-3"


def test_a_node_config_with_no_source_is_refused() -> None:
    with pytest.raises(PartnerDataError, match="neither a 'node-dir', a 'data-path' nor a"):
        resolve_source({"partners-dir": "/x"}, {"state-dir": "/y"})
