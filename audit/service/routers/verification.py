"""Route ``/api/v1/verification``: the full offline verification of the run directory."""

from __future__ import annotations

from fastapi import APIRouter

from audit.service.dependencies import View
from audit.service.response_models import VerificationOut

__all__ = ["router"]

router = APIRouter()


@router.get("/api/v1/verification", tags=["run"])
def verification(view: View) -> VerificationOut:
    """Full offline verification of the run directory (cached per tree size)."""
    result = view.verification()
    return VerificationOut(ok=result.ok, tree_size=result.tree_size, message=result.message)
