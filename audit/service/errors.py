"""Exception types of the audit service, and how every audit error becomes an HTTP response.

A missing checkpoint is the client's 404 (``{"detail": ...}`` like FastAPI's own errors); any
other `AuditError` met while serving is the server's 500, in plain text.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from audit.merkle import AuditError

__all__ = ["NoCheckpointError", "ServiceError", "add_error_handlers"]


class ServiceError(AuditError):
    """Base class of the errors the audit service raises itself."""


class NoCheckpointError(ServiceError):
    """The log has no signed checkpoint yet, so there is nothing to serve (HTTP 404)."""

    def __init__(self) -> None:
        super().__init__("no checkpoint signed yet")


async def _no_checkpoint(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=404)


async def _audit_error(request: Request, exc: Exception) -> PlainTextResponse:
    return PlainTextResponse(f"audit log error: {exc}", status_code=500)


def add_error_handlers(app: FastAPI) -> None:
    """Register the handlers (the most specific class wins, so a 404 is never a 500)."""
    app.add_exception_handler(NoCheckpointError, _no_checkpoint)
    app.add_exception_handler(AuditError, _audit_error)
