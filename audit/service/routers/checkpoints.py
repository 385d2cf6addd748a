"""Routes ``/api/v1/checkpoint`` and ``/api/v1/checkpoint/note``: the newest signed head."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from audit.service.dependencies import View
from audit.service.errors import NoCheckpointError
from audit.service.response_models import CheckpointOut
from audit.service.run_view import RunView, b64

__all__ = ["latest_checkpoint", "router"]

router = APIRouter()


def latest_checkpoint(view: RunView) -> CheckpointOut:
    """The newest checkpoint with its cosignatures.

    Raises:
        NoCheckpointError: nothing is signed yet (served as 404).
    """
    signed = view.checkpoint()
    if signed is None:
        raise NoCheckpointError()
    return CheckpointOut(
        origin=signed.origin,
        tree_size=signed.tree_size,
        root=b64(signed.root),
        note=signed.text(),
        coordinator_vkey=view.coordinator_vkey,
    )


@router.get("/api/v1/checkpoint", tags=["log"])
def checkpoint(view: View) -> CheckpointOut:
    """The newest signed checkpoint with its witness cosignatures."""
    return latest_checkpoint(view)


@router.get("/api/v1/checkpoint/note", tags=["log"], response_class=PlainTextResponse)
def checkpoint_note(view: View) -> str:
    """The newest checkpoint as C2SP signed-note text."""
    return latest_checkpoint(view).note
