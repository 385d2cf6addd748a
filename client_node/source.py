"""Where a node's data, state folder and schema are: light, so a query needs no heavy import.

In order:

1. ``node_config["node-dir"]``: a node folder made by ``fedinsight node init`` (deployment
   engine); its ``node.toml`` names the data file, schema and partner label;
2. ``node_config["data-path"]`` with ``state-dir`` (and optionally ``schema-path``,
   ``partner-name``, ``pseudonym-key``): the same, spelled out in the node config;
3. ``partners-dir`` in the run config plus ``node_config["partition-id"]``: the partner homes a
   ``fedinsight simulate`` run prepared (``<partners-dir>/<partner>/raw.parquet``);
4. otherwise ``partition-id`` alone: a deterministic split of the run's dataset, materialized
   in ``<run-dir>/partner-homes/partition-<id>`` (a plain ``flwr run .`` in simulation).

The pseudonymization key is never in the state folder: a node folder's ``node.toml`` and a
node config's ``pseudonym-key`` name it (it must exist); otherwise it is made on first use in
``keys/<folder-name>/`` beside the state folder (``client_node.node_state.default_key_path``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from client_node.errors import PartnerDataError
from client_node.home import NodeHome
from client_node.node_state import NodeState
from federation import NodeConfig, RunDir

RAW_FILE = "raw.parquet"


@dataclass(frozen=True)
class PartnerSource:
    name: str
    raw_path: Path | None
    partition_id: int | None
    state: NodeState
    schema_path: Path | None


def _str(config: Mapping[str, object], key: str) -> str:
    return str(config.get(key, "") or "")


def resolve_source(
    run_config: Mapping[str, object], node_config: Mapping[str, object]
) -> PartnerSource:
    """Where this node's data, state and schema are (see module doc)."""
    node_dir = _str(node_config, NodeConfig.NODE_DIR)
    if node_dir:
        home = NodeHome(Path(node_dir))
        return PartnerSource(
            home.partner_name(),
            home.data_path(),
            None,
            home.state,
            home.schema_path(),
        )
    data_path = _str(node_config, NodeConfig.DATA_PATH)
    schema = _str(node_config, NodeConfig.SCHEMA_PATH) or _str(run_config, NodeConfig.SCHEMA_PATH)
    if data_path:
        name = _str(node_config, NodeConfig.PARTNER_NAME) or Path(data_path).stem
        state_dir = _str(node_config, NodeConfig.STATE_DIR)
        if not state_dir:
            raise PartnerDataError("node config has a 'data-path' but no 'state-dir'")
        key = _str(node_config, NodeConfig.PSEUDONYM_KEY)
        return PartnerSource(
            name,
            Path(data_path),
            None,
            NodeState(Path(state_dir), Path(key), create_key=False)
            if key
            else NodeState(Path(state_dir)),
            Path(schema) if schema else None,
        )
    if "partition-id" not in node_config:
        raise PartnerDataError(
            "this node has neither a 'node-dir', a 'data-path' nor a 'partition-id' in its "
            "node config"
        )
    try:
        pid = int(str(node_config["partition-id"]))
    except ValueError as exc:
        raise PartnerDataError(
            f"partition-id {node_config['partition-id']!r} is not a number"
        ) from exc
    if pid < 0:
        raise PartnerDataError(f"partition-id must be >= 0, got {pid}")
    partners_dir = _str(run_config, "partners-dir")
    if partners_dir:
        homes = sorted(p for p in Path(partners_dir).iterdir() if (p / RAW_FILE).exists())
        if pid >= len(homes):
            raise PartnerDataError(
                f"partition-id {pid} but only {len(homes)} partner homes in {partners_dir}"
            )
        home_dir = homes[pid]
        return PartnerSource(
            home_dir.name,
            home_dir / RAW_FILE,
            None,
            NodeState(home_dir),
            Path(schema) if schema else None,
        )
    base = RunDir(_str(run_config, "run-dir") or "runs").partition_home(pid)
    return PartnerSource(f"partition-{pid}", None, pid, NodeState(base), None)
