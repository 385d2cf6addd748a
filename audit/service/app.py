"""`create_app`: the read-only HTTP service over a run's audit log (FastAPI).

Routes under ``/api/v1`` return JSON, ``/`` an HTML page for privacy officers, ``/docs`` the
API documentation as a self-contained page (FastAPI's Swagger UI and ReDoc load from a CDN
and are off, so the service works offline). With a token configured, every data route
requires ``Authorization: Bearer <token>``.

Notes:
    The service opens the SQLite file read-only and never writes to the run directory.
    OpenAPI docs stay public: they describe the routes, not the data.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from audit.run import TrustPolicy
from audit.service.dependencies import authorize
from audit.service.errors import add_error_handlers
from audit.service.routers import (
    api_docs,
    checkpoints,
    entries,
    epsilon,
    health,
    page,
    proofs,
    rounds,
    verification,
)
from audit.service.run_view import RunView
from audit.service.settings import AuditServiceSettings

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

# Mounted in this order, which is the order of the paths in the OpenAPI document.
_DATA_ROUTERS = (
    checkpoints.router,
    entries.router,
    proofs.router,
    rounds.router,
    epsilon.router,
    verification.router,
    page.router,
)


def create_app(
    run_dir: str | os.PathLike[str],
    settings: AuditServiceSettings | None = None,
    *,
    trust: TrustPolicy | None = None,
) -> FastAPI:
    """Build the app serving ``run_dir``'s audit log (settings from the environment by
    default), verified under the officer's ``trust`` (None: against the log's own keys, which
    the page says). Requires ``RUN_DIR/audit/log.sqlite``; opens it read-only."""
    settings = AuditServiceSettings() if settings is None else settings
    view = RunView(run_dir, trust)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logger.info("audit service up, token %s", "required" if settings.token else "off")
        yield
        view.close()

    app = FastAPI(
        title="fedinsight audit log",
        version="1",
        description="Read-only view of a federated run's Merkle audit log.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.view = view
    app.state.settings = settings
    app.include_router(health.router)
    app.include_router(api_docs.router)
    for router in _DATA_ROUTERS:
        app.include_router(router, dependencies=[Depends(authorize)])
    add_error_handlers(app)
    return app
