"""The officer's page: the run's terms and manifest, model hashes, resume events, reasons,
full partner labels and ε carried over from earlier runs; offline.

Built twice: on logs made here (a resume, a carry-over, every kind of reason), and, marked
slow, on a real simulated run (`fedinsight simulate`, real Flower processes) in which a
partner refuses for its budget.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from audit import (
    COSIGNATURE_V1,
    NoteSigner,
    RunAuditLog,
    round_record,
    run_end_record,
    run_resume_record,
    run_start_record,
)
from audit.run import parse_record
from audit.service import AuditServiceSettings, create_app
from audit.service.run_files import manifest_digest
from tests.audit.runs import sha

LONG = "retail-partner-with-a-long-label.example"
PARTNERS = ("clinic-b", LONG)
MANIFEST: dict[str, Any] = {
    "format": "fedinsight-run-manifest/2",
    "dp": {"noise-multiplier": 1.1, "target-delta": 1e-05, "dp-accountant": "rdp"},
    "federation": {"min-partners": 2, "round-timeout": 600.0, "aggregation": "fedavg"},
}


def _round(number: int, *, spent: float, cumulative: float, **kw: Any) -> dict[str, Any]:
    trained = [p for p in PARTNERS if p not in kw.get("dropouts", ()) + kw.get("refusals", ())]
    return round_record(
        round_number=number,
        participants=trained,
        update_hashes={p: sha(f"u {p} {number}") for p in trained},
        model_hash_before=sha(f"model {number - 1}"),
        model_hash_after=sha(f"model {number}"),
        epsilon_spent={p: spent for p in trained},
        epsilon_cumulative={p: cumulative for p in trained},
        epsilon_budget={p: 9.0 for p in PARTNERS},
        data_commitments={p: sha(f"d {p}") for p in trained},
        started_at=f"2025-03-01T10:0{number}:00Z",
        ended_at=f"2025-03-01T10:0{number}:30Z",
        **kw,
    )


def _made_run(run_dir: Path, manifest: dict[str, Any]) -> Path:
    """Two rounds and a resume between them; round 1's cumulative ε (1.7) is 1.2 above its
    spend (0.5): carried over from earlier runs. Round 2: clinic-b's update is rejected."""
    keys = {p: NoteSigner.generate(f"w.test/{p}", COSIGNATURE_V1) for p in PARTNERS}
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    with RunAuditLog.create(run_dir, NoteSigner.generate("fedinsight.test/page")) as log:
        log.append_record(
            run_start_record(
                config_hash=sha("config"),
                code_hash=sha("code"),
                model_arch_hash=sha("arch"),
                dp={"noise_multiplier": 1.1, "max_grad_norm": 1.0, "target_delta": 1e-5},
                partners={p: k.verifier.vkey for p, k in keys.items()},
                started_at="2025-03-01T09:00:00Z",
                manifest_hash=manifest_digest(body),
            )
        )
        log.append_record(_round(1, spent=0.5, cumulative=1.7))
        log.append_record(
            run_resume_record(
                after_round=1, model_hash=sha("model 1"), resumed_at="2025-03-01T10:05:00Z"
            )
        )
        log.append_record(
            _round(2, spent=0.4, cumulative=2.1, dropouts=("clinic-b",), rejected=("clinic-b",))
        )
        log.append_record(
            run_end_record(
                final_model_hash=sha("model 2"), rounds=2, ended_at="2025-03-01T11:00:00Z"
            )
        )
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    events = [
        {"event": "round", "round": 2, "refusals": {}, "errors": {}, "failures": [],
         "rejected": {"clinic-b": "update norm 812 above max-update-norm 50"}},
    ]  # fmt: skip
    (run_dir / "progress.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return run_dir


def _page(run_dir: Path) -> str:
    with TestClient(create_app(run_dir, AuditServiceSettings())) as client:
        answer = client.get("/")
    assert answer.status_code == 200
    text: str = answer.text
    return text


@pytest.fixture(scope="module")
def made_page(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _page(_made_run(tmp_path_factory.mktemp("page") / "run", MANIFEST))


def test_the_page_shows_the_run_start_dp_terms_and_the_matching_manifest(made_page: str) -> None:
    assert "noise multiplier (sigma)</td><td>1.1" in made_page
    assert "the manifest_hash of the run-start record" in made_page
    assert "<td>min-partners</td><td>2</td>" in made_page
    assert "<td>round-timeout</td><td>600.0</td>" in made_page


def test_the_page_shows_each_rounds_model_hash(made_page: str) -> None:
    for number in (0, 1, 2):
        assert sha(f"model {number}") in made_page


def test_the_page_shows_the_resume_event(made_page: str) -> None:
    assert "1 resume event." in made_page
    assert "resume after round 1" in made_page and "2025-03-01T10:05:00Z" in made_page


def test_the_page_shows_the_rejection_reason(made_page: str) -> None:
    assert "clinic-b (update rejected: update norm 812 above max-update-norm 50)" in made_page


def test_the_page_explains_epsilon_carried_over_from_earlier_runs(made_page: str) -> None:
    assert "comes from its ledger" in made_page
    assert "(1.7, round 1) includes 1.2 carried over from earlier runs" in made_page


def test_the_legend_holds_full_partner_labels_outside_the_svg(made_page: str) -> None:
    svg = re.search(r"<svg.*?</svg>", made_page, re.S)
    assert svg is not None and LONG not in re.sub(r"<title>.*?</title>", "", svg.group())
    assert re.search(rf"<li><span class=\"swatch\"[^>]*></span>{re.escape(LONG)}</li>", made_page)


def test_the_page_needs_nothing_from_the_network(made_page: str) -> None:
    assert "<script" not in made_page and "<link" not in made_page and "@import" not in made_page
    assert re.findall(r"https?://[^\"' ]+", made_page) == ["http://www.w3.org/2000/svg"]


def test_a_manifest_other_than_the_logged_one_is_flagged(tmp_path: Path) -> None:
    other = {**MANIFEST, "federation": {**MANIFEST["federation"], "min-partners": 1}}
    run_dir = _made_run(tmp_path / "run", MANIFEST)
    (run_dir / "manifest.json").write_text(json.dumps(other))

    assert "NOT proven to be the run's terms" in _page(run_dir)


# -- a real simulated run -----------------------------------------------------------------------


@pytest.mark.slow
def test_the_page_of_a_real_simulated_run_shows_terms_hashes_reasons_and_labels(
    simulated_run: Path,
) -> None:
    page = _page(simulated_run)
    manifest = json.loads((simulated_run / "manifest.json").read_text())
    from audit import audit_paths
    from audit.merkle import MerkleLog

    log = MerkleLog(audit_paths(simulated_run)[0], readonly=True)
    records = [parse_record(leaf) for leaf in log.leaves(0, log.size)]
    rounds = [r for r in records if r["type"] == "round"]

    assert "Verified:" in page
    assert manifest["manifest_sha256"] == records[0]["manifest_hash"]
    assert "the manifest_hash of the run-start record" in page
    for section in ("dp", "central_dp", "training", "federation"):
        for term in manifest[section]:
            assert f"<td>{term}</td>" in page, term
    assert "delta (target_delta)</td><td>1e-05" in page
    assert len(rounds) == 2
    for record in rounds:
        assert record["model_hash_after"] in page
    assert rounds[0]["refusals"] == ["partner-0"]
    assert "partner-0 (refused: the run plans epsilon 3, above this partner" in page
    for partner in ("partner-0", "partner-1", "partner-2"):
        assert partner in page
    for partner in rounds[-1]["epsilon_cumulative"]:
        assert re.search(rf"</span>{partner}</li>", page), partner
    assert "0 resume events." in page
    assert "No epsilon carried over from earlier runs." in page
    assert hashlib.sha256((simulated_run / "model.pt").read_bytes()).hexdigest() in page


# -- in a real headless browser -----------------------------------------------------------------

_PROBE = """<script>
const width = document.documentElement.clientWidth;
const legend = [...document.querySelectorAll('.legend li')].every(
  (li) => li.scrollWidth <= li.clientWidth + 1 && li.getBoundingClientRect().right <= width);
const svgText = [...document.querySelectorAll('svg')].every((svg) =>
  [...svg.querySelectorAll('text')].every((t) => {
    const box = t.getBBox();
    return box.x >= 0 && box.x + box.width <= svg.viewBox.baseVal.width + 0.5;
  }));
document.title = 'probe ' + (legend ? 'legend-ok' : 'legend-clipped') + ' ' +
  (svgText ? 'svg-ok' : 'svg-clipped');
</script></body>"""


@pytest.mark.slow
def test_in_chromium_no_label_is_clipped(made_page: str, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    page = tmp_path / "page.html"
    page.write_text(made_page.replace("</body>", _PROBE))
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=900,2000",
         "--user-data-dir=" + str(tmp_path / "profile"), "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    title = re.search(r"<title>(probe [^<]*)</title>", done.stdout)
    assert title is not None, done.stderr[-2000:]
    assert title.group(1) == "probe legend-ok svg-ok"


# -- the officer's trust policy --------------------------------------------------------------------


def test_without_trust_the_page_says_the_log_vouches_for_itself(made_page: str) -> None:
    assert "No trust was given" in made_page
    assert "--witness-vkey" in made_page


def _trusted_page(run_dir: Path) -> str:
    from audit import read_vkey
    from audit.run import TrustPolicy

    witnesses = sorted((run_dir / "partner-homes").glob("*/witness.vkey"))
    trust = TrustPolicy(
        coordinator_key=read_vkey(run_dir / "audit" / "coordinator.vkey"),
        witness_keys=tuple(read_vkey(path) for path in witnesses),
    )
    with TestClient(create_app(run_dir, AuditServiceSettings(), trust=trust)) as client:
        answer = client.get("/")
    assert answer.status_code == 200
    text: str = answer.text
    return text


@pytest.mark.slow
def test_the_page_shows_the_trusted_keys_quorum_and_recomputed_epsilon(
    simulated_run: Path,
) -> None:
    from audit import read_vkey
    from audit.run import verify_run_dir

    page = _trusted_page(simulated_run)

    assert "under the officer&#x27;s trust" in page and "No trust was given" not in page
    for path in sorted((simulated_run / "partner-homes").glob("*/witness.vkey")):
        assert read_vkey(path).vkey.split("+")[0] in page
    assert "Quorum of distinct partner cosignatures on every checkpoint" in page
    report = verify_run_dir(simulated_run)
    for partner in ("partner-1", "partner-2"):  # partner-0 refused: it trained no round
        assert re.search(rf"<td>{partner}</td><td>[0-9.]+</td><td>[0-9.]+</td>", page), partner
    assert report.tree_size > 0


_POLICY_PROBE = """<script>
const heads = [...document.querySelectorAll('h2')].filter((h) => h.textContent === 'Trust policy');
let table = heads.length ? heads[0].nextElementSibling : null;
while (table && !['TABLE', 'H2'].includes(table.tagName)) table = table.nextElementSibling;
const shown = table && table.tagName === 'TABLE' && table.getBoundingClientRect().height > 0;
document.title = 'probe ' + (shown ? table.querySelectorAll('tr').length + ' rows' : 'missing');
</script></body>"""


@pytest.mark.slow
def test_in_chromium_the_trust_policy_table_is_rendered(
    simulated_run: Path, tmp_path: Path
) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    page = tmp_path / "page.html"
    page.write_text(_trusted_page(simulated_run).replace("</body>", _POLICY_PROBE))
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=900,2000",
         "--disable-background-networking", "--disable-component-update", "--no-first-run",
         "--user-data-dir=" + str(tmp_path / "profile"), "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    title = re.search(r"<title>(probe [^<]*)</title>", done.stdout)
    assert title is not None, done.stderr[-2000:]
    assert title.group(1) == "probe 3 rows"  # the header and the two partners that trained
