"""Route ``/``: the privacy officer's HTML page (409 with a failure page when the log's
records cannot be read)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from audit.merkle import AuditError, StoreError
from audit.service.dependencies import View
from audit.service.page_html import render_failure_page, render_page
from audit.service.routers.checkpoints import latest_checkpoint
from audit.service.run_files import read_manifest, read_notes

__all__ = ["router"]

router = APIRouter()


@router.get("/", response_class=HTMLResponse, tags=["run"])
def page(view: View) -> HTMLResponse:
    """The privacy officer's page."""
    current = latest_checkpoint(view)
    verification = view.verification()
    try:
        records = view.records()
    except StoreError:
        raise
    except AuditError as exc:
        failure = render_failure_page(
            origin=current.origin, verification=verification, problem=str(exc)
        )
        return HTMLResponse(failure, status_code=409)
    start = records[0] if records and records[0]["type"] == "run_start" else None
    html = render_page(
        origin=current.origin,
        tree_size=current.tree_size,
        root=current.root,
        vkey=current.coordinator_vkey,
        records=records,
        epsilon=view.epsilon(),
        verification=verification,
        trust=view.trust,
        manifest=read_manifest(view.run_dir, None if start is None else start.get("manifest_hash")),
        notes=read_notes(view.run_dir),
    )
    return HTMLResponse(html)
