"""What both ends of the Flower wire share: the run settings and their DP terms, the run
manifest, the message keys, the run-directory layout, the model store, the model's wire format
and the launcher of Flower's processes. The coordinator, the partner nodes, the simulations and
the CLI import it; it imports no project package but ``insight``, ``privacy`` and ``audit``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from federation.app_bundle import app_bundle_dir
    from federation.dp import DPTerms, dp_terms, evaluation_history, partner_noise_multiplier
    from federation.errors import (
        FederationError,
        LaunchError,
        ManifestError,
        SettingsError,
        WireError,
    )
    from federation.keys import (
        Action,
        Homecoming,
        Metric,
        NodeConfig,
        Partner,
        Progress,
        Query,
        Record,
        Status,
        TrainRequest,
    )
    from federation.launcher import (
        LocalSuperLink,
        find_app_dir,
        flower_bin,
        flower_env,
        flwr_run,
        free_port,
        kill_tree,
        local_superlink,
        stop_process_group,
        toml_value,
        wait_for_port,
    )
    from federation.manifest import (
        MANIFEST_FORMAT,
        MANIFEST_SECTIONS,
        build_manifest,
        code_hash,
        manifest_hash,
        manifest_settings,
        read_manifest,
        run_manifest,
        with_audit_log,
        write_manifest,
    )
    from federation.model_store import load_model_state, save_model, state_bytes, state_sha256
    from federation.run_dir import RunDir
    from federation.settings import RunSettings
    from federation.wire import flat_record, pack_state, unpack_state

# Submodules load when a name is first used (PEP 562): a node answering a query needs the keys,
# not torch, pandas and Opacus, which the settings and the manifest bring.
_WHERE = {
    "app_bundle_dir": "federation.app_bundle",
    "DPTerms": "federation.dp",
    "dp_terms": "federation.dp",
    "evaluation_history": "federation.dp",
    "partner_noise_multiplier": "federation.dp",
    "FederationError": "federation.errors",
    "LaunchError": "federation.errors",
    "ManifestError": "federation.errors",
    "SettingsError": "federation.errors",
    "WireError": "federation.errors",
    "Action": "federation.keys",
    "Homecoming": "federation.keys",
    "Metric": "federation.keys",
    "NodeConfig": "federation.keys",
    "Partner": "federation.keys",
    "Progress": "federation.keys",
    "Query": "federation.keys",
    "Record": "federation.keys",
    "Status": "federation.keys",
    "TrainRequest": "federation.keys",
    "LocalSuperLink": "federation.launcher",
    "find_app_dir": "federation.launcher",
    "flower_bin": "federation.launcher",
    "flower_env": "federation.launcher",
    "flwr_run": "federation.launcher",
    "free_port": "federation.launcher",
    "kill_tree": "federation.launcher",
    "local_superlink": "federation.launcher",
    "stop_process_group": "federation.launcher",
    "toml_value": "federation.launcher",
    "wait_for_port": "federation.launcher",
    "MANIFEST_FORMAT": "federation.manifest",
    "MANIFEST_SECTIONS": "federation.manifest",
    "build_manifest": "federation.manifest",
    "code_hash": "federation.manifest",
    "manifest_hash": "federation.manifest",
    "manifest_settings": "federation.manifest",
    "read_manifest": "federation.manifest",
    "run_manifest": "federation.manifest",
    "with_audit_log": "federation.manifest",
    "write_manifest": "federation.manifest",
    "load_model_state": "federation.model_store",
    "save_model": "federation.model_store",
    "state_bytes": "federation.model_store",
    "state_sha256": "federation.model_store",
    "RunDir": "federation.run_dir",
    "RunSettings": "federation.settings",
    "flat_record": "federation.wire",
    "pack_state": "federation.wire",
    "unpack_state": "federation.wire",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'federation' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_SECTIONS",
    "Action",
    "DPTerms",
    "FederationError",
    "Homecoming",
    "LaunchError",
    "LocalSuperLink",
    "ManifestError",
    "Metric",
    "NodeConfig",
    "Partner",
    "Progress",
    "Query",
    "Record",
    "RunDir",
    "RunSettings",
    "SettingsError",
    "Status",
    "TrainRequest",
    "WireError",
    "app_bundle_dir",
    "build_manifest",
    "code_hash",
    "dp_terms",
    "evaluation_history",
    "find_app_dir",
    "flat_record",
    "flower_bin",
    "flower_env",
    "flwr_run",
    "free_port",
    "kill_tree",
    "load_model_state",
    "local_superlink",
    "manifest_hash",
    "manifest_settings",
    "pack_state",
    "partner_noise_multiplier",
    "read_manifest",
    "run_manifest",
    "save_model",
    "state_bytes",
    "state_sha256",
    "stop_process_group",
    "toml_value",
    "unpack_state",
    "wait_for_port",
    "with_audit_log",
    "write_manifest",
]
