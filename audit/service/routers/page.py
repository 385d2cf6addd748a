"""Route ``/``: the privacy officer's HTML page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from audit.service.dependencies import View
from audit.service.page_html import render_page
from audit.service.routers.checkpoints import latest_checkpoint

__all__ = ["router"]

router = APIRouter()


@router.get("/", response_class=HTMLResponse, tags=["run"])
def page(view: View) -> str:
    """The privacy officer's page."""
    current = latest_checkpoint(view)
    return render_page(
        origin=current.origin,
        tree_size=current.tree_size,
        root=current.root,
        vkey=current.coordinator_vkey,
        rounds=view.rounds(),
        epsilon=view.epsilon(),
        verification=view.verification(),
    )
