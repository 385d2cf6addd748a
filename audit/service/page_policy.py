"""The page's trust-policy section: what the officer trusted, and what the log showed under it.

The trust comes from whoever started the service (``fedinsight audit serve --vkey ...
--witness-vkey ...``, or a trust file), never from the log; the section says so when none was
given, since the log's own keys then vouch for the log.
"""

from __future__ import annotations

from html import escape

from audit.run import PolicyReport, TrustPolicy
from audit.service.page_sections import table

__all__ = ["policy_section"]


def _key(vkey: str) -> str:
    return f"<code>{escape(vkey.split('+')[0])}</code>"


def _epsilon_rows(report: PolicyReport) -> list[list[str]]:
    """Plain text cells (``table`` escapes them)."""
    rows = []
    for partner, eps in sorted(report.epsilon.items()):
        again = "not recomputed" if eps.recomputed is None else f"{eps.recomputed:.9g}"
        gap = "" if eps.recomputed is None else f"{eps.gap:.2e}"
        rows.append(
            [
                partner,
                f"{eps.logged:.9g}",
                again,
                gap,
                eps.accountant,
                f"{eps.delta:g}",
                str(eps.rounds),
            ]
        )
    return rows


def policy_section(trust: TrustPolicy | None, report: PolicyReport | None) -> str:
    """The trusted keys and quorum, and per partner the logged against the recomputed ε.

    ``report`` is None when the log failed verification under ``trust`` (the status line above
    says why) or when no trust was given.
    """
    if trust is None:
        return (
            '<h2>Trust policy</h2><p class="bad">No trust was given: this page checks the log '
            "only against the keys the log itself carries. Start the service with "
            "<code>fedinsight audit serve RUN_DIR --vkey COORDINATOR.vkey --witness-vkey "
            "PARTNER.vkey ...</code> (or <code>--trust FILE</code>) to verify under your own "
            "trust.</p>"
        )
    quorum = "every partner of the run" if trust.quorum is None else str(trust.quorum)
    witnesses = ", ".join(_key(key.vkey) for key in trust.witness_keys)
    head = (
        "<h2>Trust policy</h2>"
        f"<p>Coordinator key trusted: {_key(trust.coordinator_key.vkey)}<br>"
        f"Partner witness keys trusted: {witnesses}<br>"
        f"Quorum of distinct partner cosignatures on every checkpoint: {quorum}"
    )
    if report is None:
        return head + "</p><p>No figures: the log does not verify under this policy.</p>"
    head += f" ({report.quorum}; fewest found on a checkpoint: {report.min_cosignatures})"
    if report.checkpoint_size is not None:
        head += f"<br>Kept checkpoint of size {report.checkpoint_size}: the log extends it"
    headers = ["partner", "logged ε", "recomputed ε", "|gap|", "accountant", "δ", "rounds"]
    return (
        head + "</p><p>Each partner's cumulative ε as it signed it, against the verifier's own "
        "recomputation from the signed terms (independent of the partner's accountant).</p>"
        + table(headers, _epsilon_rows(report))
    )
