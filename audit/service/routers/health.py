"""Route ``/healthz``: the liveness probe, public (no data, no token)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter()


@router.get("/healthz", tags=["service"])
def health() -> dict[str, str]:
    """Liveness probe (no data, no token)."""
    return {"status": "ok"}
