"""Routes ``/api/v1/proof/inclusion`` and ``/api/v1/proof/consistency``: RFC 9162 proofs."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from audit.service.dependencies import View
from audit.service.response_models import ConsistencyOut, InclusionOut
from audit.service.routers.checkpoints import latest_checkpoint
from audit.service.routers.entries import NonNegative
from audit.service.run_view import b64

__all__ = ["router"]

router = APIRouter()


@router.get("/api/v1/proof/inclusion", tags=["proofs"])
def inclusion(view: View, index: NonNegative, tree_size: NonNegative | None = None) -> InclusionOut:
    """Inclusion proof of leaf ``index`` (default size: the newest checkpoint's)."""
    size = latest_checkpoint(view).tree_size if tree_size is None else tree_size
    try:
        proof = view.inclusion_proof(index, size)
    except (IndexError, ValueError) as exc:
        raise HTTPException(400, str(exc)) from None
    return InclusionOut(index=index, tree_size=size, inclusion_proof=[b64(h) for h in proof])


@router.get("/api/v1/proof/consistency", tags=["proofs"])
def consistency(
    view: View, first: NonNegative, second: NonNegative | None = None
) -> ConsistencyOut:
    """Consistency proof from size ``first`` to ``second`` (default: the newest)."""
    size = latest_checkpoint(view).tree_size if second is None else second
    try:
        proof = view.consistency_proof(first, size)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return ConsistencyOut(first=first, second=size, consistency_proof=[b64(h) for h in proof])
