"""The partner's signed statement of a round, attached to its training reply.

The statement names the log and round, the partner's salted commitment to the update (an
HMAC-SHA256 under a per-round salt only the partner holds, so it can later prove which update it
sent, while the hash alone reveals nothing about its data), the data
commitment and, with DP, the round's terms, its ε and the ledger chain's head
(``audit.sign_statement`` documents the fields). It is signed with the partner's witness key
and kept at the partner (``client_node.witnessing``), which checks before it cosigns a round
that the log carries it verbatim.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from flwr.app import ConfigRecord

from client_node.node_state import NodeState
from client_node.witnessing import pinned_origins, sign_round_statement
from federation import Partner

if TYPE_CHECKING:
    import torch

    from client_node.task import RoundOutcome


def signed_statement(
    partner: ConfigRecord,
    state: NodeState,
    name: str,
    origin: str,
    server_round: int,
    update: dict[str, torch.Tensor],
    outcome: RoundOutcome,
) -> str:
    """Sign the round's statement into ``partner`` (``Partner.STATEMENT``); '' when done, else
    why this partner will not release the update (a refusal: the run's log is not one it
    joined, so it cannot hold the coordinator to what it sent)."""
    if origin not in pinned_origins(state, name):
        return (
            f"refused: the run's audit log {origin!r} is not one this partner joined (it pins "
            "the log when it approves the run's manifest, or at a simulated run's start)"
        )
    statement = {
        "partner": name,
        "origin": origin,
        "round": server_round,
        # The partner's salted commitment (privacy.salted_update_hash): a bare hash of an update
        # trained without local DP would let anyone test a guessed data set against it.
        "update_hash": outcome.update_hash,
        "data_commitment": outcome.commitment,
        **outcome.dp_terms,
    }
    signed = sign_round_statement(state, name, statement)
    partner[Partner.STATEMENT] = json.dumps(signed, sort_keys=True)
    return ""
