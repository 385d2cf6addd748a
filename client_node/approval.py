"""A partner's approval of runs: the node trains only for a run manifest it approved.

``fedinsight node approve MANIFEST`` checks the manifest, shows its terms, and writes
``<node-dir>/approvals/<manifest sha256>.json``. When the run's sigma is calibrated at each
partner, the node first resolves its own from its own data (``own_noise_multiplier``), so the
partner sees the noise its customers will get before it approves. At a training or evaluation
message, the node recomputes the run's manifest from the code it runs and the run config it
received (``federation.run_manifest``) and looks for that hash. A node set up with
``fedinsight node init`` requires approval (``require-approval = true`` in its ``node.toml``);
a simulation's partners do not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from client_node.home import read_node_file
from client_node.node_state import NodeState
from federation import NodeConfig

if TYPE_CHECKING:
    from client_node.source import PartnerSource
    from federation import RunSettings

APPROVALS_DIR = "approvals"


def approvals_dir(state: NodeState) -> Path:
    return state.root / APPROVALS_DIR


def requires_approval(state: NodeState, node_config: Mapping[str, object]) -> bool:
    """Node config ``require-approval`` wins; else ``node.toml``; else no (a simulation)."""
    if NodeConfig.REQUIRE_APPROVAL in node_config:
        value = str(node_config[NodeConfig.REQUIRE_APPROVAL])
        return value.strip().lower() in ("1", "true", "yes")
    return bool(read_node_file(state.root).get(NodeConfig.REQUIRE_APPROVAL, False))


def approve(
    state: NodeState, manifest: Mapping[str, Any], *, note: str = "", partner: str = ""
) -> Path:
    """Record the approval of a (checked) manifest; idempotent. Returns the approval file.

    When the manifest names the run's audit log (its ``audit`` section), the node joins it:
    its witness pins that exact origin and the coordinator's key (``partner`` names the
    witness key if it is made now).

    Raises:
        AuditError: the manifest's log is already pinned to another key (nothing recorded).
    """
    digest = str(manifest["manifest_sha256"])
    log = manifest.get("audit")
    if isinstance(log, Mapping):
        from client_node.witnessing import pin_log

        pin_log(state, partner or state.root.name, str(log["origin"]), str(log["coordinator_vkey"]))
    folder = approvals_dir(state)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{digest}.json"
    if path.exists():
        return path
    entry = {
        "manifest": dict(manifest),
        "approved_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "note": note,
    }
    from insight.files import replace_atomically  # insight brings torch: only when approving

    with replace_atomically(path, mode=0o666) as out:
        out.write((json.dumps(entry, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    return path


def revoke(state: NodeState, digest: str) -> bool:
    path = approvals_dir(state) / f"{digest}.json"
    if not path.exists():
        return False
    path.unlink()
    return True


def names_log(state: NodeState, digest: str) -> bool:
    """Whether the approved manifest ``digest`` named its audit log (pinned at approval)."""
    path = approvals_dir(state) / f"{digest}.json"
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(entry, dict) and isinstance(entry.get("manifest", {}).get("audit"), dict)


def is_approved(state: NodeState, digest: str) -> bool:
    return (approvals_dir(state) / f"{digest}.json").exists()


def approved(state: NodeState) -> list[dict[str, Any]]:
    folder = approvals_dir(state)
    if not folder.exists():
        return []
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    return out


def refusal_reason(state: NodeState, digest: str) -> str:
    """Why this node will not train for the run ('' when it approved it)."""
    if is_approved(state, digest):
        return ""
    return (
        f"run not approved by this partner: manifest sha256 {digest}; the partner reviews "
        "the run's manifest and runs `fedinsight node approve` to allow it"
    )


def approval_refusal(
    state: NodeState, node_config: Mapping[str, object], settings: RunSettings
) -> str:
    """'' when this node may work for the run; else why not (a refusal, not an error)."""
    if not requires_approval(state, node_config):
        return ""
    from federation import run_manifest

    return refusal_reason(state, str(run_manifest(settings)["manifest_sha256"]))


def own_noise_multiplier(source: PartnerSource, manifest: Mapping[str, Any]) -> float | None:
    """The sigma this partner would train under in the run of ``manifest``; None without DP.

    A calibrated sigma depends on the partner's own number of customers with a training window,
    so its data is loaded (pseudonymized, as for a round) and the sigma resolved with
    ``federation.partner_noise_multiplier``, the function the partner trains with.

    Raises:
        ClientNodeError, InsightError, AnonymizationError: the partner's data cannot be loaded.
        FederationError, PrivacyError: the manifest's terms give no sigma.
    """
    from client_node.data import load_partner
    from federation import dp_terms, manifest_settings, partner_noise_multiplier
    from privacy import round_schedule

    settings = manifest_settings(manifest)
    terms = dp_terms(settings)
    if not terms.enabled:
        return None
    if terms.noise_multiplier is not None:
        return terms.noise_multiplier
    data = load_partner(settings, {}, source)
    schedule = round_schedule(data.train, settings.train_config(seed=settings.seed))
    return partner_noise_multiplier(settings, schedule.num_customers)


def over_budget(source: PartnerSource, manifest: Mapping[str, Any]) -> str:
    """Why this node would refuse every round of a calibrated run, its target ε being above the
    node's ε budget (as ``client_node.task`` refuses it); '' when it would not, or when the
    node's budget is unreadable (the node names that when it trains)."""
    from client_node.errors import ClientNodeError
    from client_node.node_settings import node_settings
    from federation import manifest_settings

    settings = manifest_settings(manifest)
    if not settings.dp or settings.noise_multiplier:
        return ""
    try:
        budget = node_settings(settings, {}, source.state).epsilon_budget
    except ClientNodeError:
        return ""
    if settings.target_epsilon <= budget:
        return ""
    return (
        f"the run's target-epsilon {settings.target_epsilon:g} is above this node's ε budget "
        f"of {budget:g}: the node will refuse every round"
    )


def privacy_refusals(source: PartnerSource, manifest: Mapping[str, Any]) -> list[str]:
    """Why this node would refuse every round of the run of ``manifest`` on privacy grounds, as
    ``client_node.task`` refuses them: no DP while the node has an ε budget, or a ``target-delta``
    other than the δ its ledger is fixed at. Shown as warnings when the partner approves."""
    import math

    from client_node.errors import ClientNodeError
    from client_node.node_settings import node_settings
    from federation import manifest_settings
    from privacy import PrivacyLedger

    settings = manifest_settings(manifest)
    try:
        node = node_settings(settings, {}, source.state)
    except ClientNodeError:
        return []
    out = []
    if not settings.dp and math.isfinite(node.epsilon_budget):
        out.append(
            f"the run has dp = false and this node has an ε budget of {node.epsilon_budget:g}: "
            "the node will refuse every round and every evaluation"
        )
    path = source.state.ledger_path
    fixed = PrivacyLedger(path).fixed_delta() if path.exists() else None  # never create one
    if settings.dp and fixed is not None and not math.isclose(fixed, settings.target_delta):
        out.append(
            f"the run's target-delta {settings.target_delta:g} is not this node's δ {fixed:g} "
            "(fixed in its privacy ledger): the node will refuse every round"
        )
    return out
