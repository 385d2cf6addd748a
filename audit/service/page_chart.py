"""The officer's page's chart: each partner's cumulative epsilon over the rounds, as inline SVG.

The legend is HTML below the chart, not text inside the SVG: labels of any length show in
full (inside a fixed-width SVG they were clipped at its right edge, "partne").
"""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["COLOURS", "epsilon_chart"]

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
_WIDTH, _HEIGHT, _PAD = 640, 240, 40


def _legend(epsilon: dict[str, dict[str, Any]]) -> str:
    items = "".join(
        f'<li><span class="swatch" style="background:{COLOURS[n % len(COLOURS)]}"></span>'
        f"{escape(partner)}</li>"
        for n, partner in enumerate(sorted(epsilon))
    )
    return f'<ul class="legend" aria-label="partners">{items}</ul>'


def epsilon_chart(epsilon: dict[str, dict[str, Any]], rounds: int) -> str:
    """Cumulative epsilon per partner over rounds (budget dashed), with its legend."""
    if not epsilon or rounds == 0:
        return "<p>No epsilon spent yet.</p>"
    width, height, pad = _WIDTH, _HEIGHT, _PAD
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
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        'aria-label="cumulative epsilon per partner">',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        'stroke="#555"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#555"/>',
        f'<text x="{pad}" y="{pad - 8}" font-size="11">epsilon (max {top:.3g})</text>',
        f'<text x="{width - pad}" y="{height - 12}" font-size="11" text-anchor="end">'
        f"round (1..{rounds})</text>",
    ]
    for n, (partner, entry) in enumerate(sorted(epsilon.items())):
        colour = COLOURS[n % len(COLOURS)]
        points = " ".join(f"{x(p['round']):.1f},{y(p['cumulative']):.1f}" for p in entry["series"])
        first = entry["series"][0]
        start = f"{x(first['round'] - 1):.1f},{y(first['cumulative'] - first['spent']):.1f}"
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
            f'points="{start} {points}"><title>{escape(partner)}</title></polyline>'
        )
        if entry["budget"] is not None:
            level = y(entry["budget"])
            parts.append(
                f'<line x1="{pad}" y1="{level:.1f}" x2="{width - pad}" '
                f'y2="{level:.1f}" stroke="{colour}" stroke-dasharray="4 3"/>'
            )
    parts.append("</svg>")
    return "".join(parts) + _legend(epsilon)
