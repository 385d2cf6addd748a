"""Routes ``/api/v1/entries`` and ``/api/v1/entries/{index}``: leaves and their records."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from audit.run import parse_record
from audit.service.dependencies import Settings, View
from audit.service.response_models import EntriesOut, EntryOut
from audit.service.run_view import b64

__all__ = ["NonNegative", "router"]

NonNegative = Annotated[int, Query(ge=0)]
"""A query parameter that must be 0 or more."""

router = APIRouter()


@router.get("/api/v1/entries", tags=["log"])
def entries(
    view: View, settings: Settings, start: NonNegative = 0, end: NonNegative | None = None
) -> EntriesOut:
    """Leaves ``[start, end)`` (clipped to the log and to the page limit)."""
    size = view.size()
    stop = min(size if end is None else end, start + settings.max_entries)
    if stop < start:
        raise HTTPException(400, "end must not be below start")
    rows = [
        EntryOut(index=i, leaf=b64(data), record=parse_record(data))
        for i, data in view.entries(start, stop)
    ]
    return EntriesOut(tree_size=size, entries=rows)


@router.get("/api/v1/entries/{index}", tags=["log"])
def entry(view: View, index: int) -> EntryOut:
    """One leaf and its record."""
    found = view.entries(index, index + 1) if index >= 0 else []
    if not found:
        raise HTTPException(404, f"no entry {index}")
    return EntryOut(index=index, leaf=b64(found[0][1]), record=parse_record(found[0][1]))
