"""Exception types of the audit service, and how every audit error becomes an HTTP response.

No audit error is a 500. A missing checkpoint is the client's 404; a log that cannot be read
(`StoreError`) is 503; any other `AuditError` met while serving (a leaf that is not a valid
record, a proof or signature that fails) means the log fails verification: 409 with
``{"detail": "verification failed: ...", "verified": false}``. Bodies are JSON, like
FastAPI's own errors.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from audit.merkle import AuditError, StoreError

__all__ = ["LogNotVerifiedError", "NoCheckpointError", "ServiceError", "add_error_handlers"]


class ServiceError(AuditError):
    """Base class of the errors the audit service raises itself."""


class NoCheckpointError(ServiceError):
    """The log has no signed checkpoint yet, so there is nothing to serve (HTTP 404)."""

    def __init__(self) -> None:
        super().__init__("no checkpoint signed yet")


class LogNotVerifiedError(ServiceError):
    """The log fails verification, so figures drawn from it are not served (HTTP 409)."""

    def __init__(self, message: str, tree_size: int) -> None:
        super().__init__(message)
        self.tree_size = tree_size


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:2000]


async def _no_checkpoint(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=404)


async def _not_verified(request: Request, exc: Exception) -> JSONResponse:
    size = exc.tree_size if isinstance(exc, LogNotVerifiedError) else None
    body = {"detail": f"verification failed: {_one_line(exc)}", "verified": False}
    return JSONResponse({**body, "tree_size": size}, status_code=409)


async def _store_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": f"audit log unreadable: {_one_line(exc)}"}, status_code=503)


def add_error_handlers(app: FastAPI) -> None:
    """Register the handlers (the most specific class wins, so a 404 is never a 409)."""
    app.add_exception_handler(NoCheckpointError, _no_checkpoint)
    app.add_exception_handler(StoreError, _store_error)
    app.add_exception_handler(AuditError, _not_verified)
