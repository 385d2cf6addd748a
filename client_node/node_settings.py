"""A partner's own settings: what the partner decides, not the coordinator.

Read from the node config (deployment: ``flower-supernode --node-config``) or, in a
simulation, from ``node.toml`` in the partner's state folder; the run config only supplies the
default. Today: ``epsilon-budget``, the most cumulative ε this partner's customers may lose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from client_node.errors import PartnerDataError
from client_node.home import read_node_file
from client_node.node_state import NodeState
from federation import NodeConfig, RunSettings


@dataclass(frozen=True)
class NodeSettings:
    epsilon_budget: float


def node_settings(
    settings: RunSettings, node_config: Mapping[str, object], state: NodeState
) -> NodeSettings:
    values: dict[str, object] = dict(read_node_file(state.root))
    values.update({k: v for k, v in node_config.items() if k == NodeConfig.EPSILON_BUDGET})
    raw = values.get(NodeConfig.EPSILON_BUDGET, settings.epsilon_budget)
    try:
        budget = float(str(raw))
    except ValueError as exc:
        raise PartnerDataError(f"epsilon-budget {raw!r} is not a number") from exc
    if not budget > 0:
        raise PartnerDataError(f"epsilon-budget must be > 0, got {budget}")
    return NodeSettings(epsilon_budget=budget)
