"""The partners' signed statements, checked before their updates are aggregated.

Each trained reply carries the partner's statement of the round (``audit.sign_statement``),
signed with the witness key the run-start record lists for it. The coordinator checks it as
the verifier will: a statement that is missing, malformed (NaN, an empty commitment, ε above
the budget), about another partner, log or round, whose update commitment is not the reply's, or
whose signature does not verify, makes the update a rejected one (the round goes on without
it, the partner is not asked again), never an aborted run. A checked statement goes into the
round record verbatim (``dp``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from flwr.app import Message

from audit import AuditError, NoteVerifier, verify_statement
from coordinator.replies import SortedReplies, metric_values, partner_name
from federation import Metric, Partner, Record

logger = logging.getLogger(__name__)


def statement_problem(
    msg: Message, *, origin: str, rnd: int, key: NoteVerifier | None, dp: bool
) -> tuple[str, dict[str, Any] | None]:
    """('', the signed statement) when the reply's statement holds; else (why not, None)."""
    name = partner_name(msg)
    if key is None:
        return f"{name} has no witness key in the run start", None
    partner = msg.content.config_records[Record.PARTNER]
    raw = partner.get(Partner.STATEMENT)
    if not isinstance(raw, str):
        return "no signed statement with the update", None
    try:
        signed = json.loads(raw)
        statement = verify_statement(signed, key, "statement")
    except (AuditError, ValueError, RecursionError) as exc:
        return f"statement refused: {str(exc)[:300]}", None
    # The update hash is the partner's salted commitment (the coordinator cannot recompute it
    # without the partner's salt): it must be the one the reply carries.
    wanted = {
        "partner": name,
        "origin": origin,
        "round": rnd,
        "update_hash": str(partner.get(Partner.UPDATE_HASH, "")),
        "data_commitment": str(partner.get(Partner.COMMITMENT, "")),
    }
    for field, value in wanted.items():
        if statement[field] != value:
            return f"statement's {field} is not this reply's", None
    if dp != ("epsilon" in statement):
        return "statement's DP terms do not match the run's DP setting", None
    metrics = metric_values(msg.content.metric_records.get(Record.METRICS))
    for field, metric in (
        ("epsilon_cumulative", Metric.EPSILON_CUMULATIVE),
        ("epsilon_budget", Metric.EPSILON_BUDGET),
    ):
        if dp and metrics.get(metric) != statement[field]:
            return f"reported {metric} differs from the signed statement", None
    return "", signed


def check_statements(
    replies: SortedReplies,
    *,
    origin: str,
    rnd: int,
    keys: Mapping[str, NoteVerifier],
    dp: bool,
) -> dict[str, dict[str, Any]]:
    """Move every update whose statement does not hold to ``replies.rejected``; return the
    signed statements of the updates kept, by partner."""
    kept, statements = [], {}
    for msg in replies.updates:
        name = partner_name(msg)
        problem, signed = statement_problem(msg, origin=origin, rnd=rnd, key=keys.get(name), dp=dp)
        if signed is None:
            logger.warning("update of %s rejected: %s", name, problem)
            replies.rejected[name] = problem
            continue
        kept.append(msg)
        statements[name] = signed
    replies.updates = kept
    return statements
