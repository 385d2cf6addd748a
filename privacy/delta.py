"""A partner's δ: fixed by the partner when its ledger is first written, never chosen by a run.

Every ε a partner's ledger holds is at one δ. If a run could pick δ, a coordinator could make
the same history look cheaper by asking for a larger δ (a "refund" of spent ε), or ask for a δ
so large that the guarantee is void: with δ ≥ 1/n a mechanism may publish one customer's record
outright and still meet (ε, δ)-DP. So the partner fixes δ once (its node config, default
``default_delta(n)``), a run asking for any other δ is refused, and no δ above ``1/n`` is ever
used.
"""

from __future__ import annotations

import math

from privacy.config import default_delta
from privacy.errors import PrivacyConfigError
from privacy.ledger import PrivacyLedger

__all__ = ["check_delta_bound", "partner_delta"]


def check_delta_bound(target_delta: float, num_customers: int, *, where: str = "") -> None:
    """Raise ``PrivacyConfigError`` unless ``0 < target_delta <= 1 / num_customers``.

    ``where`` names whose customers they are (a partner), for the message.
    """
    if num_customers < 1:
        raise PrivacyConfigError(f"num_customers must be >= 1, got {num_customers}")
    bound = 1.0 / num_customers
    if not 0 < target_delta <= bound:
        whose = f"{where}'s " if where else ""
        raise PrivacyConfigError(
            f"target-delta {target_delta:.3g} is above 1/n = {bound:.3g} ({whose}"
            f"{num_customers} customers): at such a delta one customer's data may be released "
            f"outright; use at most {default_delta(num_customers):.3g}"
        )


def partner_delta(
    ledger: PrivacyLedger,
    *,
    requested: float,
    configured: float | None,
    num_customers: int,
) -> float | str:
    """The δ this partner trains at, or why it refuses the run (a string starting 'refused:').

    The δ is the ledger's, once fixed; else ``configured`` (the partner's node config), else
    ``default_delta(num_customers)``, and it is fixed in the ledger here. A δ above
    ``1 / num_customers`` is never fixed. ``requested`` (the run's ``target-delta``) must equal
    the partner's δ.
    """
    candidate = ledger.fixed_delta()
    if candidate is None:
        candidate = configured if configured is not None else default_delta(num_customers)
    try:
        check_delta_bound(candidate, num_customers)
    except PrivacyConfigError as exc:
        return f"refused: this partner's {exc}"
    fixed = ledger.fix_delta(candidate)
    if not math.isclose(requested, fixed, rel_tol=1e-9, abs_tol=0.0):
        return (
            f"refused: the run asks for target-delta {requested:.3g}, but this partner's delta is "
            f"fixed at {fixed:.3g} (the partner's own, set when its privacy ledger was created); "
            "run at that delta"
        )
    return fixed
