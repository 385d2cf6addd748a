"""The privacy officer's page: verification, the run's terms and manifest, epsilon per
partner (with what was carried over from earlier runs), rounds with model hashes and
reasons, and run events (resumes). Self-contained: no script, no font or style from
elsewhere, so it works offline."""

from __future__ import annotations

from html import escape
from typing import Any

from audit.run import TrustPolicy
from audit.service.page_chart import epsilon_chart
from audit.service.page_policy import policy_section
from audit.service.page_sections import (
    epsilon_table,
    events_section,
    manifest_section,
    partner_dp_section,
    rounds_section,
    run_terms_section,
)
from audit.service.run_files import Manifest, RoundNotes
from audit.service.run_view import Verification

__all__ = ["render_failure_page", "render_page"]

_STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;
text-align:left;vertical-align:top}th{background:#f3f3f3}
td.long{overflow-wrap:anywhere;font-family:monospace;font-size:.8rem}
.ok{color:#075e07}.bad{color:#9b0000}.note{color:#555;font-size:.9rem}
code{font-size:.85rem;word-break:break-all}svg{max-width:100%;height:auto}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem}
.swatch{display:inline-block;width:1.2rem;height:.3rem;margin-right:.4rem;vertical-align:middle}"""


def _head(origin: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Audit log {escape(origin)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Audit log of run <code>{escape(origin)}</code></h1>"
    )


def _status(verification: Verification) -> str:
    css, word = ("ok", "Verified") if verification.ok else ("bad", "Verification FAILED")
    return f'<p class="{css}"><strong>{word}:</strong> {escape(verification.message)}</p>'


def render_page(
    *,
    origin: str,
    tree_size: int,
    root: str,
    vkey: str,
    records: list[dict[str, Any]],
    epsilon: dict[str, dict[str, Any]],
    verification: Verification,
    manifest: Manifest | None,
    notes: dict[int, RoundNotes],
    trust: TrustPolicy | None = None,
) -> str:
    """The whole HTML page; every value from the log or the run directory is escaped."""
    start = records[0] if records and records[0]["type"] == "run_start" else None
    rounds = [record for record in records if record["type"] == "round"]
    return f"""{_head(origin)}
{_status(verification)}
<p>Tree size {tree_size}, root <code>{escape(root)}</code><br>
Coordinator key <code>{escape(vkey)}</code></p>
{policy_section(trust, verification.policy)}
{run_terms_section(start)}
{partner_dp_section(rounds)}
{manifest_section(manifest, start)}
<h2>Epsilon per partner{"" if verification.ok else " (UNVERIFIED: the log fails verification)"}</h2>
{epsilon_chart(epsilon, len(rounds))}
{epsilon_table(epsilon)}
{rounds_section(rounds, notes)}
{events_section(records)}
<p>JSON API: <a href="/docs">/docs</a>. Verify offline with
<code>fedinsight audit verify RUN_DIR --vkey COORDINATOR.vkey
--witness-vkey PARTNER.vkey ...</code>.</p>
</body></html>"""


def render_failure_page(*, origin: str, verification: Verification, problem: str) -> str:
    """The page of a log whose records cannot be read: only the failure is shown."""
    return f"""{_head(origin)}
{_status(verification)}
<p class="bad">The log's records cannot be shown: {escape(problem)}</p>
</body></html>"""
