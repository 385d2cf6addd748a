"""A coordinator's folder for the deployment engine, made by ``fedinsight coordinator init``.

Layout::

    coordinator.toml   address partners dial (host:port), the host the SuperLink listens on
    tls/ca.pem         the federation's CA certificate: give it to every partner
    tls/ca.key         the CA's private key (0600): keep it offline once certificates are made
    tls/server.pem     the SuperLink's TLS certificate, for the names in coordinator.toml
    tls/server.key     its private key (0600)
    audit.key          the coordinator's audit-log signing key (0600)
    audit.vkey         its verifier key: give it to privacy officers
    nodes/<name>.pub   the allow-list: SuperNode public keys of the partners (OpenSSH, EC)
    superlink.db       the SuperLink's persistent state (--database)
    flwr-home/         FLWR_HOME for `flwr run`: a connection named "fedinsight" with TLS
    runs/<name>/       one run directory per run (audit log, models, progress, ledger)
    logs/              the SuperLink's log
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit import NoteSigner, key_name_from, read_signer, write_signer, write_vkey
from coordinator.errors import CoordinatorError
from coordinator.pki import TlsFiles, create_tls, load_node_public_key, public_key_fingerprint

CONFIG_FILE = "coordinator.toml"
CONNECTION = "fedinsight"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_partner_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise CoordinatorError(
            f"partner name {name!r}: letters, digits, '.', '_' or '-', at most 64 characters"
        )
    return name


@dataclass(frozen=True)
class CoordinatorHome:
    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def tls(self) -> TlsFiles:
        return TlsFiles.under(self.root / "tls")

    @property
    def audit_key(self) -> Path:
        return self.root / "audit.key"

    @property
    def nodes_dir(self) -> Path:
        return self.root / "nodes"

    @property
    def database(self) -> Path:
        return self.root / "superlink.db"

    @property
    def flwr_home(self) -> Path:
        return self.root / "flwr-home"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def config(self) -> dict[str, Any]:
        if not self.config_path.exists():
            raise CoordinatorError(
                f"{self.root} is not a coordinator folder (no {CONFIG_FILE}); run "
                "`fedinsight coordinator init`"
            )
        try:
            return tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise CoordinatorError(f"{self.config_path}: not valid TOML ({exc})") from exc

    @property
    def address(self) -> str:
        return str(self.config()["address"])

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])

    def allow_list(self) -> dict[str, Path]:
        """``{partner name: public key file}`` of every allowed SuperNode."""
        if not self.nodes_dir.exists():
            return {}
        return {p.stem: p for p in sorted(self.nodes_dir.glob("*.pub"))}

    def signer(self) -> NoteSigner:
        return read_signer(self.audit_key)


def init_coordinator(
    root: Path, *, address: str, listen_host: str = "127.0.0.1", names: tuple[str, ...] = ()
) -> CoordinatorHome:
    """Create the folder: CA + server certificate, audit signing key, empty allow-list."""
    home = CoordinatorHome(root.resolve())
    if home.config_path.exists():
        raise CoordinatorError(f"{home.config_path} exists: this folder is already set up")
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CoordinatorError(
            f"address {address!r}: expected HOST:PORT with a port 1-65535, e.g. 127.0.0.1:9091"
        )
    # Checked before anything is written, so a failed init can be retried.
    signer = NoteSigner.generate(f"fedinsight/{key_name_from(home.root.name, 'coordinator')}")
    home.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    hosts = (host, *names, "localhost", "127.0.0.1")
    create_tls(home.root / "tls", hosts)
    write_signer(home.audit_key, signer)
    write_vkey(home.root / "audit.vkey", signer.verifier)
    home.nodes_dir.mkdir(exist_ok=True)
    home.runs_dir.mkdir(exist_ok=True)
    home.config_path.write_text(
        "# fedinsight coordinator settings\n"
        f'address = "{address}"          # what partners dial (flower-supernode --superlink)\n'
        f'listen-host = "{listen_host}"  # where the SuperLink listens (0.0.0.0: everywhere)\n',
        encoding="utf-8",
    )
    write_flwr_config(home)
    return home


def write_flwr_config(home: CoordinatorHome) -> Path:
    """``flwr-home/config.toml``: the ``fedinsight`` connection, over TLS with the CA."""
    home.flwr_home.mkdir(parents=True, exist_ok=True)
    path = home.flwr_home / "config.toml"
    path.write_text(
        "[superlink]\n"
        f'default = "{CONNECTION}"\n\n'
        f"[superlink.{CONNECTION}]\n"
        f'address = "127.0.0.1:{home.port}"\n'
        f"root-certificates = {json.dumps(str(home.tls.ca_cert))}\n",
        encoding="utf-8",
    )
    return path


def allow_node(home: CoordinatorHome, public_key: Path, name: str) -> tuple[Path, str]:
    """Add a partner's SuperNode public key to the allow-list; returns (file, fingerprint)."""
    check_partner_name(name)
    try:
        key = load_node_public_key(public_key)
    except ValueError as exc:
        raise CoordinatorError(str(exc)) from exc
    target = home.nodes_dir / f"{name}.pub"
    fingerprint = public_key_fingerprint(key)
    for other, path in home.allow_list().items():
        if other != name and public_key_fingerprint(load_node_public_key(path)) == fingerprint:
            raise CoordinatorError(f"this key is already allowed as {other!r}")
    if target.exists():
        raise CoordinatorError(f"a key is already allowed as {name!r} ({target})")
    home.nodes_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(public_key, target)
    return target, fingerprint


def superlink_command(home: CoordinatorHome, flower_superlink: str) -> list[str]:
    """``flower-superlink`` with TLS, SuperNode authentication and a persistent database."""
    config = home.config()
    tls = home.tls
    if not tls.exist():
        raise CoordinatorError(f"TLS files missing under {home.root / 'tls'}")
    return [
        flower_superlink,
        "--ssl-ca-certfile",
        str(tls.ca_cert),
        "--ssl-certfile",
        str(tls.server_cert),
        "--ssl-keyfile",
        str(tls.server_key),
        "--enable-supernode-auth",
        "--database",
        str(home.database),
        "--host",
        str(config.get("listen-host", "127.0.0.1")),
        "--port",
        str(home.port),
        "--isolation",
        "subprocess",
        "--disable-runtime-dependency-installation",
    ]
