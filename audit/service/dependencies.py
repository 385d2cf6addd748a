"""What the routes take from the app: the run view, the settings, and the bearer-token check.

`create_app` puts the view and the settings on ``app.state``; routes receive them through
these dependencies instead of closures, so that each router module stands alone.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from audit.service.run_view import RunView
from audit.service.settings import AuditServiceSettings

__all__ = ["Settings", "View", "authorize"]


def _view(request: Request) -> RunView:
    view: RunView = request.app.state.view
    return view


def _settings(request: Request) -> AuditServiceSettings:
    settings: AuditServiceSettings = request.app.state.settings
    return settings


View = Annotated[RunView, Depends(_view)]
"""The run view of the app handling the request."""

Settings = Annotated[AuditServiceSettings, Depends(_settings)]
"""The settings of the app handling the request."""


def authorize(request: Request, settings: Settings) -> None:
    """Require ``Authorization: Bearer <token>`` when a token is configured.

    Notes:
        The comparison takes constant time, so timing does not leak the token.
    """
    if settings.token is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = settings.token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected):
        raise HTTPException(401, "bearer token required", headers={"WWW-Authenticate": "Bearer"})
