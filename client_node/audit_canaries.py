"""A partner's gradient canaries (``privacy.gradient_canaries``): the privacy audit's, at home.

A partner audits its own DP step by placing a canary spec at ``audit/gradient-canaries.json``
in its state folder (``fedinsight simulate --privacy-audit`` writes one into every simulated
partner's home; the coordinator cannot). Each round it trains with the spec's canaries and
keeps their scores, per run and round, in ``audit/gradient-canary-scores.json`` beside it. The
scores hold the step's noise at the canaries' coordinates, so they are as sensitive as the
data: they stay in the state folder, and nothing of them is sent.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from client_node.errors import PartnerDataError
from client_node.node_state import NodeState
from insight import CustomerSequenceModel, TrainConfig, replace_atomically
from privacy import PrivacyError
from privacy.gradient_canaries import CanarySpec, GradientCanaries, plain_step_hook

SPEC_FILE = "gradient-canaries.json"
SCORES_FILE = "gradient-canary-scores.json"


def audit_dir(state: NodeState) -> Path:
    return state.root / "audit"


def canary_spec(state: NodeState) -> CanarySpec | None:
    """The partner's canary spec, None when it has none."""
    path = audit_dir(state) / SPEC_FILE
    if not path.exists():
        return None
    try:
        return CanarySpec.read(path)
    except PrivacyError as exc:
        raise PartnerDataError(str(exc)) from None


def plain_canaries(
    state: NodeState, model: CustomerSequenceModel, customers: int, config: TrainConfig
) -> tuple[GradientCanaries, Callable[[int], None]] | None:
    """The canaries of training without DP, sampled at ``batch_size / customers`` per step, and
    the hook ``insight.train`` calls after each backward pass; None without a spec."""
    spec = canary_spec(state)
    if spec is None:
        return None
    canaries = GradientCanaries(
        spec,
        model,
        sample_rate=min(1.0, config.batch_size / max(customers, 1)),
        generator=torch.Generator().manual_seed(secrets.randbits(63)),
    )
    return canaries, plain_step_hook(canaries)


def save_scores(
    state: NodeState, run_id: str, server_round: int, scores: Sequence[float] | None
) -> None:
    """Keep a round's canary scores (a round trained again replaces its own; another run's are
    dropped)."""
    if scores is None:
        return
    path = audit_dir(state) / SCORES_FILE
    kept: dict[str, object] = {"run": run_id, "rounds": {}}
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
            if old.get("run") == run_id and isinstance(old.get("rounds"), dict):
                kept = old
        except (OSError, ValueError, AttributeError):
            pass  # an unreadable file of scores is replaced, never trusted
    rounds = kept["rounds"]
    assert isinstance(rounds, dict)
    rounds[str(server_round)] = [float(s) for s in scores]
    with replace_atomically(path) as out:
        out.write(json.dumps(kept, sort_keys=True).encode())


def read_scores(home: Path) -> dict[str, object] | None:
    """A partner home's scores file (``{"run", "rounds": {round: [score, ...]}}``), None when
    it has none."""
    path = home / "audit" / SCORES_FILE
    if not path.exists():
        return None
    body = json.loads(path.read_text(encoding="utf-8"))
    return body if isinstance(body, dict) else None
