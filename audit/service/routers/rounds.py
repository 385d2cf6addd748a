"""Route ``/api/v1/rounds``: the round records."""

from __future__ import annotations

from fastapi import APIRouter

from audit.service.dependencies import View
from audit.service.response_models import RoundsOut

__all__ = ["router"]

router = APIRouter()


@router.get("/api/v1/rounds", tags=["run"])
def rounds(view: View) -> RoundsOut:
    """Every round record, with whether the log passes full verification (``verified``)."""
    result = view.verification()
    return RoundsOut(verified=result.ok, verification=result.message, rounds=view.rounds())
