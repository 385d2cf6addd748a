"""A partner's own settings: what the partner decides, not the coordinator.

Read from the node config (deployment: ``flower-supernode --node-config``) or, in a
simulation, from ``node.toml`` in the partner's state folder; the run config only supplies the
default budget. Today: ``epsilon-budget``, the most cumulative ε this partner's customers may
lose (``inf``: no budget, the only setting under which the node trains without DP), and
``target-delta``, the δ the partner's ledger is fixed at when it is created (default
``privacy.default_delta(n)``; never the run's to choose), and ``dp-engine``, the per-sample
step its DP-SGD uses (``fedinsight``, the default, or ``opacus``: Opacus's own classes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from client_node.errors import PartnerDataError
from client_node.home import read_node_file
from client_node.node_state import NodeState
from federation import NodeConfig, RunSettings
from privacy import ENGINES, Engine

_OWN_KEYS = (NodeConfig.EPSILON_BUDGET, NodeConfig.TARGET_DELTA, NodeConfig.DP_ENGINE)


@dataclass(frozen=True)
class NodeSettings:
    epsilon_budget: float
    target_delta: float | None = None
    dp_engine: Engine = "fedinsight"


def node_settings(
    settings: RunSettings, node_config: Mapping[str, object], state: NodeState
) -> NodeSettings:
    values: dict[str, object] = dict(read_node_file(state.root))
    values.update({k: v for k, v in node_config.items() if k in _OWN_KEYS})
    raw = values.get(NodeConfig.EPSILON_BUDGET, settings.epsilon_budget)
    try:
        budget = float(str(raw))
    except ValueError as exc:
        raise PartnerDataError(f"epsilon-budget {raw!r} is not a number") from exc
    if not budget > 0:
        raise PartnerDataError(f"epsilon-budget must be > 0, got {budget}")
    delta: float | None = None
    raw_delta = values.get(NodeConfig.TARGET_DELTA)
    if raw_delta is not None and str(raw_delta).strip():
        try:
            delta = float(str(raw_delta))
        except ValueError as exc:
            raise PartnerDataError(f"target-delta {raw_delta!r} is not a number") from exc
        if not (math.isfinite(delta) and 0 < delta < 1):
            raise PartnerDataError(f"target-delta must be in (0, 1), got {delta}")
    engine = str(values.get(NodeConfig.DP_ENGINE, "fedinsight") or "fedinsight")
    if engine not in ENGINES:
        raise PartnerDataError(f"dp-engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    return NodeSettings(epsilon_budget=budget, target_delta=delta, dp_engine=cast(Engine, engine))
