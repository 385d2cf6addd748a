"""Route ``/api/v1/epsilon``: each partner's cumulative epsilon per round, and its budget."""

from __future__ import annotations

from fastapi import APIRouter

from audit.service.dependencies import View
from audit.service.response_models import EpsilonOut

__all__ = ["router"]

router = APIRouter()


@router.get("/api/v1/epsilon", tags=["run"])
def epsilon(view: View) -> EpsilonOut:
    """Each partner's cumulative epsilon after each round, and its budget."""
    return EpsilonOut.model_validate({"partners": view.epsilon()})
