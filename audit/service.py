"""Read-only HTTP service over a run's audit log (FastAPI).

Import this module only where FastAPI is installed; the rest of `audit` does not need it.
Routes under ``/api/v1`` return JSON, ``/`` an HTML page for privacy officers, ``/docs`` the
OpenAPI documentation. With a token configured, every data route requires
``Authorization: Bearer <token>``.

Notes:
    The service opens the SQLite file read-only and never writes to the run directory.
    OpenAPI docs stay public: they describe the routes, not the data.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from audit.errors import AuditError
from audit.records import parse_record
from audit.run_view import RunView, b64
from audit.service_html import render_page
from audit.service_models import (
    CheckpointOut,
    ConsistencyOut,
    EntriesOut,
    EntryOut,
    EpsilonOut,
    InclusionOut,
    RoundsOut,
    VerificationOut,
)
from audit.service_settings import AuditServiceSettings

__all__ = ["create_app"]

logger = logging.getLogger(__name__)
NonNegative = Annotated[int, Query(ge=0)]


def create_app(run_dir: str | os.PathLike[str],
               settings: AuditServiceSettings | None = None) -> FastAPI:
    """Build the app serving ``run_dir``'s audit log (settings from the environment by
    default). Requires ``RUN_DIR/audit/log.sqlite``; opens it read-only."""
    settings = AuditServiceSettings() if settings is None else settings
    view = RunView(run_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logger.info("audit service up, token %s", "required" if settings.token else "off")
        yield
        view.close()

    def authorize(request: Request) -> None:
        if settings.token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        expected = settings.token.get_secret_value().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected):
            raise HTTPException(401, "bearer token required",
                                headers={"WWW-Authenticate": "Bearer"})

    app = FastAPI(title="fedinsight audit log", version="1",
                  description="Read-only view of a federated run's Merkle audit log.",
                  lifespan=lifespan)
    guarded = [Depends(authorize)]

    def latest() -> CheckpointOut:
        signed = view.checkpoint()
        if signed is None:
            raise HTTPException(404, "no checkpoint signed yet")
        return CheckpointOut(origin=signed.origin, tree_size=signed.tree_size,
                             root=b64(signed.root), note=signed.text(),
                             coordinator_vkey=view.coordinator_vkey)

    @app.get("/healthz", tags=["service"])
    def health() -> dict[str, str]:
        """Liveness probe (no data, no token)."""
        return {"status": "ok"}

    @app.get("/api/v1/checkpoint", dependencies=guarded, tags=["log"])
    def checkpoint() -> CheckpointOut:
        """The newest signed checkpoint with its witness cosignatures."""
        return latest()

    @app.get("/api/v1/checkpoint/note", dependencies=guarded, tags=["log"],
             response_class=PlainTextResponse)
    def checkpoint_note() -> str:
        """The newest checkpoint as C2SP signed-note text."""
        return latest().note

    @app.get("/api/v1/entries", dependencies=guarded, tags=["log"])
    def entries(start: NonNegative = 0, end: NonNegative | None = None) -> EntriesOut:
        """Leaves ``[start, end)`` (clipped to the log and to the page limit)."""
        size = view.size()
        stop = min(size if end is None else end, start + settings.max_entries)
        if stop < start:
            raise HTTPException(400, "end must not be below start")
        rows = [EntryOut(index=i, leaf=b64(data), record=parse_record(data))
                for i, data in view.entries(start, stop)]
        return EntriesOut(tree_size=size, entries=rows)

    @app.get("/api/v1/entries/{index}", dependencies=guarded, tags=["log"])
    def entry(index: int) -> EntryOut:
        """One leaf and its record."""
        found = view.entries(index, index + 1) if index >= 0 else []
        if not found:
            raise HTTPException(404, f"no entry {index}")
        return EntryOut(index=index, leaf=b64(found[0][1]), record=parse_record(found[0][1]))

    @app.get("/api/v1/proof/inclusion", dependencies=guarded, tags=["proofs"])
    def inclusion(index: NonNegative, tree_size: NonNegative | None = None) -> InclusionOut:
        """Inclusion proof of leaf ``index`` (default size: the newest checkpoint's)."""
        size = latest().tree_size if tree_size is None else tree_size
        try:
            proof = view.inclusion_proof(index, size)
        except (IndexError, ValueError) as exc:
            raise HTTPException(400, str(exc)) from None
        return InclusionOut(index=index, tree_size=size,
                            inclusion_proof=[b64(h) for h in proof])

    @app.get("/api/v1/proof/consistency", dependencies=guarded, tags=["proofs"])
    def consistency(first: NonNegative, second: NonNegative | None = None) -> ConsistencyOut:
        """Consistency proof from size ``first`` to ``second`` (default: the newest)."""
        size = latest().tree_size if second is None else second
        try:
            proof = view.consistency_proof(first, size)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        return ConsistencyOut(first=first, second=size,
                              consistency_proof=[b64(h) for h in proof])

    @app.get("/api/v1/rounds", dependencies=guarded, tags=["run"])
    def rounds() -> RoundsOut:
        """Every round record."""
        return RoundsOut(rounds=view.rounds())

    @app.get("/api/v1/epsilon", dependencies=guarded, tags=["run"])
    def epsilon() -> EpsilonOut:
        """Each partner's cumulative epsilon after each round, and its budget."""
        return EpsilonOut.model_validate({"partners": view.epsilon()})

    @app.get("/api/v1/verification", dependencies=guarded, tags=["run"])
    def verification() -> VerificationOut:
        """Full offline verification of the run directory (cached per tree size)."""
        result = view.verification()
        return VerificationOut(ok=result.ok, tree_size=result.tree_size,
                               message=result.message)

    @app.get("/", dependencies=guarded, response_class=HTMLResponse, tags=["run"])
    def page() -> str:
        """The privacy officer's page."""
        current = latest()
        return render_page(origin=current.origin, tree_size=current.tree_size,
                           root=current.root, vkey=current.coordinator_vkey,
                           rounds=view.rounds(), epsilon=view.epsilon(),
                           verification=view.verification())

    @app.exception_handler(AuditError)
    async def audit_error(request: Request, exc: AuditError) -> PlainTextResponse:
        return PlainTextResponse(f"audit log error: {exc}", status_code=500)

    return app
