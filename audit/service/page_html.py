"""The privacy officer's page: rounds, participants, epsilon per partner, verification."""

from __future__ import annotations

from html import escape
from typing import Any

from audit.service.run_view import Verification

__all__ = ["render_page"]

_STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;
text-align:left}th{background:#f3f3f3}.ok{color:#075e07}.bad{color:#9b0000}
code{font-size:.85rem;word-break:break-all}"""
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _chart(epsilon: dict[str, dict[str, Any]], rounds: int) -> str:
    """Cumulative epsilon per partner over rounds as a small inline SVG (budget dashed)."""
    if not epsilon or rounds == 0:
        return "<p>No epsilon spent yet.</p>"
    width, height, pad = 640, 240, 40
    top = (
        max(
            max(e["budget"] or 0.0, *(p["cumulative"] for p in e["series"]))
            for e in epsilon.values()
        )
        or 1.0
    )

    def x(r: float) -> float:
        return pad + (width - 2 * pad) * (r / max(rounds, 1))

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * (v / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'role="img" aria-label="cumulative epsilon per partner">',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        'stroke="#555"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#555"/>',
        f'<text x="{pad}" y="{pad - 8}" font-size="11">epsilon (max {top:.3g})</text>',
        f'<text x="{width - pad}" y="{height - 12}" font-size="11" text-anchor="end">'
        f"round (1..{rounds})</text>",
    ]
    for n, (partner, entry) in enumerate(sorted(epsilon.items())):
        colour = _COLOURS[n % len(_COLOURS)]
        points = " ".join(f"{x(p['round']):.1f},{y(p['cumulative']):.1f}" for p in entry["series"])
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
            f'points="{x(0):.1f},{y(0):.1f} {points}"><title>{escape(partner)}'
            "</title></polyline>"
        )
        if entry["budget"] is not None:
            level = y(entry["budget"])
            parts.append(
                f'<line x1="{pad}" y1="{level:.1f}" x2="{width - pad}" '
                f'y2="{level:.1f}" stroke="{colour}" stroke-dasharray="4 3"/>'
            )
        parts.append(
            f'<text x="{width - pad + 4}" y="{pad + 14 * n}" font-size="11" '
            f'fill="{colour}">{escape(partner)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render_page(
    *,
    origin: str,
    tree_size: int,
    root: str,
    vkey: str,
    rounds: list[dict[str, Any]],
    epsilon: dict[str, dict[str, Any]],
    verification: Verification,
) -> str:
    """The whole HTML page; every value from the log is escaped."""
    status = ("ok", "Verified") if verification.ok else ("bad", "Verification FAILED")
    round_rows = [
        [
            str(r["round"]),
            ", ".join(r["participants"]) or "-",
            ", ".join(r["dropouts"]) or "-",
            ", ".join(r["refusals"]) or "-",
            r["started_at"],
            r["ended_at"],
        ]
        for r in rounds
    ]
    partner_rows = [
        [
            partner,
            f"{entry['series'][-1]['cumulative']:.4g}",
            "-" if entry["budget"] is None else f"{entry['budget']:.4g}",
            " / ".join(f"{p['cumulative']:.3g}" for p in entry["series"]),
        ]
        for partner, entry in sorted(epsilon.items())
    ]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Audit log {escape(origin)}</title>
<style>{_STYLE}</style></head><body>
<h1>Audit log of run <code>{escape(origin)}</code></h1>
<p class="{status[0]}"><strong>{status[1]}:</strong> {escape(verification.message)}</p>
<p>Tree size {tree_size}, root <code>{escape(root)}</code><br>
Coordinator key <code>{escape(vkey)}</code></p>
<h2>Epsilon per partner</h2>{_chart(epsilon, len(rounds))}
{_table(["partner", "cumulative epsilon", "budget", "after each round"], partner_rows)}
<h2>Rounds</h2>
{_table(["round", "participants", "dropouts", "refusals", "started", "ended"], round_rows)}
<p>JSON API: <a href="/docs">/docs</a>. Verify offline with
<code>fedinsight audit verify RUN_DIR</code>.</p>
</body></html>"""
