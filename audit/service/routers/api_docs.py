"""Route ``/docs``: the API's documentation as one self-contained HTML page.

FastAPI's Swagger UI and ReDoc pages load their scripts from a CDN, so they are switched off
(``docs_url=None``, ``redoc_url=None``): a privacy officer's machine may well be offline. This
page is rendered on the server from the app's own OpenAPI document and needs nothing else;
``/openapi.json`` still serves the document itself.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

__all__ = ["router"]

router = APIRouter()

_STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem;color:#222}
code{background:#f3f3f3;padding:0 .2rem}h2{margin-top:2rem;font-size:1.1rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}"""


def _parameters(operation: dict[str, Any]) -> str:
    rows = []
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        kind = schema.get("type") or " | ".join(
            str(option.get("type", "")) for option in schema.get("anyOf", [])
        )
        rows.append(
            f"<tr><td><code>{escape(str(parameter.get('name')))}</code></td>"
            f"<td>{escape(str(parameter.get('in')))}</td><td>{escape(kind)}</td>"
            f"<td>{'yes' if parameter.get('required') else 'no'}</td></tr>"
        )
    if not rows:
        return ""
    head = "<tr><th>parameter</th><th>in</th><th>type</th><th>required</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def render_docs(document: dict[str, Any]) -> str:
    """The HTML page of an OpenAPI document: each path and method, its summary, description,
    parameters and status codes; every value is escaped."""
    info = document.get("info", {})
    title, version = escape(str(info.get("title", "API"))), escape(str(info.get("version")))
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{title}: API</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{title} — API v{version}</h1>",
        f"<p>{escape(str(info.get('description', '')))}</p>",
        "<p>The machine-readable document: <a href='/openapi.json'>/openapi.json</a>. With a "
        "token configured, data routes need <code>Authorization: Bearer &lt;token&gt;</code>."
        "</p>",
    ]
    for path, methods in document.get("paths", {}).items():
        for method, operation in methods.items():
            codes = ", ".join(sorted(operation.get("responses", {})))
            parts.append(
                f"<h2><code>{escape(method.upper())} {escape(path)}</code></h2>"
                f"<p><strong>{escape(str(operation.get('summary', '')))}</strong></p>"
                f"<p>{escape(str(operation.get('description', '')))}</p>"
                f"{_parameters(operation)}<p>Status codes: {escape(codes)}</p>"
            )
    parts.append("</body></html>")
    return "".join(parts)


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def docs(request: Request) -> str:
    """The API documentation (public, offline: no script, no CDN)."""
    return render_docs(request.app.openapi())
