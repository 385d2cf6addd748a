"""Route ``/api/v1/epsilon``: each partner's cumulative epsilon per round, and its budget.

Figures are served only from a log that passes full verification, and only up to the tree
size verified; otherwise the answer is 409 ``{"detail": "verification failed: ...",
"verified": false, "tree_size": N}``.
"""

from __future__ import annotations

from fastapi import APIRouter

from audit.service.dependencies import View
from audit.service.response_models import EpsilonOut, NotVerifiedOut

__all__ = ["router"]

router = APIRouter()


@router.get("/api/v1/epsilon", tags=["run"], responses={409: {"model": NotVerifiedOut}})
def epsilon(view: View) -> EpsilonOut:
    """Each partner's cumulative epsilon after each round, and its budget, from the verified
    log (409 when the log fails verification)."""
    size = view.verified_size()
    return EpsilonOut.model_validate(
        {"verified": True, "tree_size": size, "partners": view.epsilon(size)}
    )
