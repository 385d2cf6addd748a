"""A partner's node folder for the deployment engine, made by ``fedinsight node init``.

Layout (the folder is also the node's state folder, ``client_node.node_state.NodeState``)::

    node.toml          partner-name, data-path, schema-path, pseudonym-key (the key's path),
                       epsilon-budget, require-approval, superlink, root-certificates,
                       runtime-port
    schema.toml        which columns hold the customer id, identifiers, free text, consent
    ca.pem             the coordinator's CA certificate (to check the SuperLink's TLS certificate)
    auth/node.key      SuperNode authentication key, EC P-384, OpenSSH format (0600)
    auth/node.pub      its public key: the coordinator adds it to its allow-list
    witness.key        this partner's cosigner key for the audit log (0600)
    witness.vkey       its public half, for the partner to hand to privacy officers
    approvals/         manifests of the runs this partner approved
    privacy.sqlite, erasure.jsonl, ingested/, commitments/   (see NodeState)

The HMAC key of this partner's pseudonyms (0600) is not in the folder: ``node.toml`` records
where the partner keeps it (by default ``keys/<folder-name>/pseudonym.key`` beside the folder).

The SuperNode is started with one node-config key, ``node-dir``; everything else is read here,
so the partner's settings stay in the partner's folder.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from audit import write_private
from client_node.errors import PartnerDataError
from client_node.node_state import NodeState, default_key_path
from federation import NodeConfig

NODE_FILE = "node.toml"
SCHEMA_FILE = "schema.toml"


def _toml(values: dict[str, Any]) -> str:
    lines = []
    for key, value in values.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (int, float)):
            text = repr(value)
        else:
            escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
            text = f'"{escaped}"'
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


def read_node_file(root: Path) -> dict[str, Any]:
    """The partner's own settings in ``<root>/node.toml`` ({} when there is none)."""
    path = root / NODE_FILE
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PartnerDataError(f"{path}: not valid TOML ({exc})") from exc


@dataclass(frozen=True)
class NodeHome:
    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / NODE_FILE

    @property
    def private_key(self) -> Path:
        return self.root / "auth" / "node.key"

    @property
    def public_key(self) -> Path:
        return self.root / "auth" / "node.pub"

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.pem"

    @property
    def state(self) -> NodeState:
        """The state folder, with the key ``node.toml`` names; a node's key is made only by
        ``init_node``, so a missing one is an error, not a new key."""
        value = str(read_node_file(self.root).get(NodeConfig.PSEUDONYM_KEY, "") or "")
        key = Path(value) if value else None
        if key is not None and not key.is_absolute():
            key = self.root / key
        return NodeState(self.root, key, create_key=False)

    def config(self) -> dict[str, Any]:
        if not self.config_path.exists():
            raise PartnerDataError(
                f"{self.root} is not a node folder (no {NODE_FILE}); run `fedinsight node init`"
            )
        return read_node_file(self.root)

    def data_path(self) -> Path:
        value = str(self.config().get(NodeConfig.DATA_PATH, "") or "")
        if not value:
            raise PartnerDataError(f"{self.config_path}: no data-path")
        path = Path(value)
        return path if path.is_absolute() else self.root / path

    def schema_path(self) -> Path | None:
        value = str(self.config().get(NodeConfig.SCHEMA_PATH, "") or "")
        if not value:
            return None
        path = Path(value)
        return path if path.is_absolute() else self.root / path

    def partner_name(self) -> str:
        return str(self.config().get(NodeConfig.PARTNER_NAME, "") or self.root.name)


def open_state(folder: Path, pseudonym_key: Path | None = None) -> NodeState:
    """The state of `folder`: a node folder's (its ``node.toml`` names the key) or a bare state
    folder's, its key at `pseudonym_key` or the default beside it; never makes a key."""
    if pseudonym_key is None and (folder / NODE_FILE).exists():
        return NodeHome(folder).state
    return NodeState(folder, pseudonym_key, create_key=False)


def create_node_keys(private_path: Path, public_path: Path, *, comment: str = "") -> str:
    """A SuperNode authentication key pair (EC P-384, OpenSSH format, as Flower reads it).

    Returns the public key line. The private key is written 0600 and never shown.
    """
    key = ec.generate_private_key(ec.SECP384R1())
    write_private(
        private_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ),
    )
    line = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    if comment:
        line = f"{line} {comment}"
    public_path.write_text(line + "\n", encoding="utf-8")
    return line


def init_node(
    root: Path,
    *,
    name: str,
    data_path: Path,
    superlink: str,
    root_certificates: Path,
    epsilon_budget: float,
    schema_path: Path | None = None,
    runtime_port: int = 9094,
    check_data: bool = True,
    pseudonym_key: Path | None = None,
) -> NodeHome:
    """Create a node folder: keys (0600), settings, the CA certificate and a schema.

    The pseudonymization key is kept at `pseudonym_key` (default: `default_key_path`, beside
    the folder), never inside the folder; an existing key there is used as it is (the
    partner's pseudonyms stay the same), a missing one is made (0600, its folder 0700).
    ``node.toml`` records the path only.

    With `check_data`, the data file is first read as a run reads it
    (`client_node.data_check.check_partner_data`); one it cannot use is refused.

    Raises:
        PartnerDataError: a bad input (the folder already a node, no CA certificate, a budget
            not above 0, unusable data, a key path inside the folder or an unreadable key);
            nothing is written then.
    """
    from anonymization import PartnerSchema
    from client_node.data_check import check_partner_data
    from client_node.witnessing import cosigner

    home = NodeHome(root.resolve())
    if home.config_path.exists():
        raise PartnerDataError(f"{home.config_path} exists: this folder is already a node")
    if not root_certificates.is_file():
        raise PartnerDataError(f"CA certificate not found: {root_certificates}")
    if not epsilon_budget > 0:
        raise PartnerDataError(f"epsilon budget must be > 0, got {epsilon_budget}")
    if home.private_key.exists():
        raise PartnerDataError(f"{home.private_key} exists: this folder already has node keys")
    key = (pseudonym_key or default_key_path(home.root)).expanduser().absolute()
    if key.resolve().is_relative_to(home.root):
        raise PartnerDataError(
            f"pseudonymization key {key}: keep it outside the node folder {home.root}"
        )
    state = NodeState(home.root, key)
    if key.exists():
        state.pseudonym_key()  # a partner's existing key: readable and well-formed
    # Everything is checked before anything is written, so a failed init can be retried.
    schema = PartnerSchema.load(schema_path) if schema_path else PartnerSchema("customer_id")
    if check_data:
        check_partner_data(data_path, schema)
    home.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    state.ensure()  # the pseudonymization key, unless it exists
    cosigner(state, name)  # the witness key
    create_node_keys(home.private_key, home.public_key, comment=name)
    shutil.copyfile(root_certificates, home.ca_cert)
    schema.save(home.root / SCHEMA_FILE)
    settings = {
        NodeConfig.PARTNER_NAME: name,
        NodeConfig.DATA_PATH: str(data_path.resolve()),
        NodeConfig.SCHEMA_PATH: SCHEMA_FILE,
        NodeConfig.PSEUDONYM_KEY: str(key),
        NodeConfig.EPSILON_BUDGET: float(epsilon_budget),
        NodeConfig.REQUIRE_APPROVAL: True,
        "superlink": superlink,
        "root-certificates": "ca.pem",
        "runtime-port": runtime_port,
    }
    home.config_path.write_text(
        "# fedinsight node settings: the partner's own, never sent to the coordinator.\n"
        + _toml(settings),
        encoding="utf-8",
    )
    return home


def supernode_command(home: NodeHome, launcher: list[str], *, extra: str = "") -> list[str]:
    """The SuperNode's command line: ``launcher`` (``flower-supernode``, or
    ``client_node.supernode_main``'s command that starts it) with TLS (the coordinator's CA),
    the node's auth key and its folder."""
    config = home.config()
    ca = Path(str(config.get("root-certificates", "ca.pem")))
    ca = ca if ca.is_absolute() else home.root / ca
    superlink = str(config.get("superlink", "") or "")
    if not superlink:
        raise PartnerDataError(f"{home.config_path}: no superlink address")
    node_dir = str(home.root).replace("\\", "\\\\").replace('"', '\\"')
    return [
        *launcher,
        "--superlink",
        superlink,
        "--root-certificates",
        str(ca),
        "--auth-supernode-private-key",
        str(home.private_key),
        "--port",
        str(int(config.get("runtime-port", 9094))),
        "--node-config",
        f'node-dir="{node_dir}" {extra}'.strip(),
    ]
