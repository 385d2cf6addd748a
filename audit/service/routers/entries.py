"""Routes ``/api/v1/entries`` and ``/api/v1/entries/{index}``: leaves and their records."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from audit.run import parse_record
from audit.service.dependencies import Settings, View
from audit.service.response_models import EntriesOut, EntryOut
from audit.service.run_view import b64

__all__ = ["MAX_POSITION", "NonNegative", "router"]

MAX_POSITION = 2**63 - 1
"""Largest index or size a request may name (SQLite's integers are 64-bit signed)."""

NonNegative = Annotated[int, Query(ge=0, le=MAX_POSITION)]
"""A query parameter in 0..2**63-1 (else 422)."""

router = APIRouter()


@router.get("/api/v1/entries", tags=["log"])
def entries(
    view: View, settings: Settings, start: NonNegative = 0, end: NonNegative | None = None
) -> EntriesOut:
    """Leaves ``[start, end)`` (clipped to the log and to the page limit)."""
    if end is not None and end < start:
        raise HTTPException(400, "end must not be below start")
    size = view.size()
    stop = min(size if end is None else end, start + settings.max_entries)
    rows = [
        EntryOut(index=i, leaf=b64(data), record=parse_record(data))
        for i, data in view.entries(start, stop)
    ]
    return EntriesOut(tree_size=size, entries=rows)


@router.get("/api/v1/entries/{index}", tags=["log"])
def entry(view: View, index: Annotated[int, Path(ge=0, le=MAX_POSITION)]) -> EntryOut:
    """One leaf and its record."""
    found = view.entries(index, index + 1)
    if not found:
        raise HTTPException(404, f"no entry {index}")
    return EntryOut(index=index, leaf=b64(found[0][1]), record=parse_record(found[0][1]))
