"""Sections of the officer's page: the run's terms, the manifest, epsilon, rounds and events.

Each function returns HTML with every value from the log or the run directory escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from audit.service.run_files import Manifest, RoundNotes

__all__ = [
    "carried_over",
    "epsilon_table",
    "events_section",
    "manifest_section",
    "partner_dp_section",
    "rounds_section",
    "run_terms_section",
    "table",
]

_DP_LABELS = (
    ("accountant", "accountant"),
    ("noise_multiplier", "noise multiplier (sigma)"),
    ("max_grad_norm", "clipping norm (max_grad_norm)"),
    ("sample_rate", "sample rate"),
    ("target_epsilon", "target epsilon"),
    ("target_delta", "delta (target_delta)"),
)
_CARRY_TOLERANCE = 1e-9
_PRIVACY_SECTIONS = ("dp", "central_dp")
"""Manifest sections shown first: the privacy terms."""


def table(headers: list[str], rows: list[list[str]], *, long: frozenset[int] = frozenset()) -> str:
    """An HTML table of text cells; the cells of the ``long`` columns (hashes, keys) may break
    anywhere, the others only between words."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="long">{escape(c)}</td>' if n in long else f"<td>{escape(c)}</td>"
            for n, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


_SECOND = frozenset({1})


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def run_terms_section(start: dict[str, Any] | None) -> str:
    """The run-start record (signed): DP terms, hashes, partners and their witness keys."""
    if start is None:
        return "<p>No run-start record.</p>"
    dp = start["dp"]
    dp_rows = [[label, _value(dp[key])] for key, label in _DP_LABELS if key in dp]
    missing = [label for key, label in _DP_LABELS if key not in dp]
    hash_rows = [
        ["started", start["started_at"]],
        ["manifest hash", start.get("manifest_hash", "none recorded")],
        ["config hash", start["config_hash"]],
        ["code hash", start["code_hash"]],
        ["model architecture hash", start["model_arch_hash"]],
    ]
    partner_rows = [[partner, vkey] for partner, vkey in sorted(start["partners"].items())]
    note = (
        f"<p>Not stated at run start: {escape(', '.join(missing))}"
        " (set per partner, see the manifest).</p>"
        if missing
        else ""
    )
    return (
        "<h2>Run terms (run-start record, signed)</h2>"
        "<h3>DP terms</h3>"
        f"{table(['term', 'value'], dp_rows)}{note}"
        f"{table(['what', 'value'], hash_rows, long=_SECOND)}"
        "<h3>Partners and their witness keys</h3>"
        f"{table(['partner', 'witness key'], partner_rows, long=_SECOND)}"
    )


def manifest_section(manifest: Manifest | None, start: dict[str, Any] | None) -> str:
    """The manifest partners approved, checked against the run-start record's hash."""
    if manifest is None:
        return "<h2>Manifest</h2><p>No readable manifest.json in the run directory.</p>"
    logged = None if start is None else start.get("manifest_hash")
    if manifest.matches:
        status = (
            f'<p class="ok">manifest.json hashes to {escape(manifest.computed_hash)}, the '
            "manifest_hash of the run-start record: these are the terms the run was "
            "logged with.</p>"
        )
    else:
        status = (
            f'<p class="bad">manifest.json hashes to {escape(manifest.computed_hash)}, but the '
            f"run-start record states {escape(str(logged))}: these are NOT proven to be the "
            "run's terms.</p>"
        )
    parts = ["<h2>Manifest (terms the partners approved)</h2>", status]
    scalars = [
        [str(key), _value(value)]
        for key, value in sorted(manifest.terms.items())
        if not isinstance(value, dict) and key != "manifest_sha256"
    ]
    parts.append(table(["field", "value"], scalars, long=_SECOND))
    sections = [key for key, value in manifest.terms.items() if isinstance(value, dict)]
    first = [key for key in _PRIVACY_SECTIONS if key in sections]
    for section in first + sorted(key for key in sections if key not in first):
        rows = [[str(term), _value(value)] for term, value in manifest.terms[section].items()]
        parts.append(f"<h3>{escape(str(section))}</h3>{table(['term', 'value'], rows)}")
    return "".join(parts)


def carried_over(epsilon: dict[str, dict[str, Any]]) -> dict[str, tuple[int, float]]:
    """Per partner whose first cumulative epsilon above zero exceeds that round's spend: the
    round and the epsilon carried over from earlier runs (its ledger's total before)."""
    out: dict[str, tuple[int, float]] = {}
    for partner, entry in epsilon.items():
        first = next((p for p in entry["series"] if p["cumulative"] > 0), None)
        if first is None:
            continue
        carried = first["cumulative"] - first["spent"]
        if carried > _CARRY_TOLERANCE * max(1.0, first["cumulative"]):
            out[partner] = (first["round"], carried)
    return out


def epsilon_table(epsilon: dict[str, dict[str, Any]]) -> str:
    """Per partner: cumulative, budget, carried over, after each round; and the carry-over
    note."""
    carried = carried_over(epsilon)
    rows = [
        [
            partner,
            f"{entry['series'][-1]['cumulative']:.4g}",
            "-" if entry["budget"] is None else f"{entry['budget']:.4g}",
            f"{carried[partner][1]:.4g}" if partner in carried else "0",
            " / ".join(f"{p['cumulative']:.3g}" for p in entry["series"]),
        ]
        for partner, entry in sorted(epsilon.items())
    ]
    notes = "".join(
        f"<li>{escape(partner)}: its first cumulative epsilon above zero "
        f"({epsilon[partner]['series'][0]['cumulative']:.4g}, round {rnd}) includes "
        f"{amount:.4g} carried over from earlier runs.</li>"
        for partner, (rnd, amount) in sorted(carried.items())
    )
    return (
        table(
            ["partner", "cumulative epsilon", "budget", "carried over", "after each round"],
            rows,
        )
        + '<p class="note">Cumulative epsilon is the total of each partner\'s own ledger, which '
        "counts every round the partner ever trained, in earlier runs too. A partner's first "
        "cumulative epsilon above zero therefore comes from its ledger: where it exceeds that "
        "round's spend, the difference was carried over from earlier runs.</p>"
        + (f"<ul>{notes}</ul>" if notes else "<p>No epsilon carried over from earlier runs.</p>")
    )


def _with_reasons(partners: list[str], notes: RoundNotes | None) -> str:
    if not partners:
        return "-"
    reasons = {} if notes is None else notes.reasons
    shown = []
    for partner in partners:
        if partner not in reasons:
            shown.append(partner)
            continue
        kind, reason = reasons[partner]
        # A partner's own reason often starts with the kind ("refused: ..."): not twice.
        text = reason if reason.startswith(kind) else f"{kind}: {reason}"
        shown.append(f"{partner} ({text})")
    return "; ".join(shown)


def rounds_section(rounds: list[dict[str, Any]], notes: dict[int, RoundNotes]) -> str:
    """Each round: who trained, dropped out, refused or was rejected (with the coordinator's
    reasons), the model hash before and after, and its times."""
    rows = []
    for r in rounds:
        n = notes.get(r["round"])
        rejected = r.get("rejected", [])
        dropouts = [p for p in r["dropouts"] if p not in rejected]
        rows.append(
            [
                str(r["round"]),
                ", ".join(r["participants"]) or "-",
                _with_reasons(dropouts, n),
                _with_reasons(r["refusals"], n),
                _with_reasons(rejected, n),
                f"{r['model_hash_before']} -> {r['model_hash_after']}",
                r["started_at"],
                r["ended_at"],
                "" if n is None else n.withheld,
            ]
        )
    headers = ["round", "participants", "dropouts", "refusals", "rejected updates"]
    headers += ["model hash before -> after", "started", "ended", "no model released"]
    return (
        "<h2>Rounds</h2>"
        + table(headers, rows, long=frozenset({5}))
        + '<p class="note">Who trained, dropped out, refused or was rejected, and the model '
        "hashes, are from the signed log. The reasons in brackets are the coordinator's report "
        "(progress.jsonl), not part of the signed log.</p>"
    )


def partner_dp_section(rounds: list[dict[str, Any]]) -> str:
    """The DP terms each partner stated for each round, where round records carry them
    (a ``dp`` object per partner); empty otherwise."""
    rows: list[list[str]] = []
    columns: list[str] = []
    for r in rounds:
        statements = r.get("dp")
        if not isinstance(statements, dict):
            continue
        for partner, terms in sorted(statements.items()):
            if not isinstance(terms, dict):
                continue
            for key, value in terms.items():
                if key not in columns and not isinstance(value, dict | list):
                    columns.append(key)
            rows.append(
                [str(r["round"]), partner, *(_value(terms.get(key, "")) for key in columns)]
            )
    if not rows:
        return ""
    width = 2 + len(columns)
    rows = [row + [""] * (width - len(row)) for row in rows]
    return "<h3>DP terms stated by each partner, per round</h3>" + table(
        ["round", "partner", *columns], rows
    )


def events_section(records: list[dict[str, Any]]) -> str:
    """Run start, resumes (the coordinator restarted) and run end, in log order."""
    rows = []
    for index, record in enumerate(records):
        if record["type"] == "run_start":
            rows.append([str(index), "run start", record["started_at"], "-"])
        elif record["type"] == "run_resume":
            rows.append(
                [
                    str(index),
                    f"resume after round {record['after_round']}",
                    record["resumed_at"],
                    f"goes on from model {record['model_hash']}",
                ]
            )
        elif record["type"] == "run_end":
            rows.append(
                [
                    str(index),
                    f"run end after {record['rounds']} rounds",
                    record["ended_at"],
                    f"final model {record['final_model_hash']}",
                ]
            )
    resumes = sum(1 for record in records if record["type"] == "run_resume")
    summary = f"<p>{resumes} resume event{'s' if resumes != 1 else ''}.</p>"
    events = table(["leaf", "event", "time", "model"], rows, long=frozenset({3}))
    return "<h2>Run events</h2>" + summary + events
