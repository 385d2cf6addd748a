"""The partner's insight report: written beside its scores, offline, every picture loads."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from client_node.insight_report import PLOTS
from client_node.node_state import NodeState
from client_node.scoring import ScoreRequest, score_node
from tests.client_node.test_scoring_node import _node


def _report(tmp_path: Path, **request: object) -> Path:
    root, raw = _node(tmp_path)
    score_node(NodeState(root), raw, root / "schema.toml", ScoreRequest(**request))  # type: ignore[arg-type]
    return root / "insights"


@pytest.fixture(scope="module")
def insights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _report(tmp_path_factory.mktemp("insight"), as_of=pd.Timestamp("1997-09-30"))


def test_the_report_and_every_plot_are_written_beside_the_scores(insights: Path) -> None:
    page = (insights / "report.html").read_text()

    for name in PLOTS.values():
        assert (insights / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f'src="{name}"' in page
    for heading in ("Segments", "P(alive) by recency", "How the forecasts held up",
                    "Global drivers", "At-risk, high-value customers"):  # fmt: skip
        assert heading in page


def test_the_page_refers_to_nothing_but_the_plots_beside_it(insights: Path) -> None:
    page = (insights / "report.html").read_text()

    refs = re.findall(r"(?:src|href)=\"([^\"]+)\"", page)
    assert sorted(refs) == sorted(PLOTS.values())
    assert "http:" not in page and "https:" not in page and "//" not in page


def test_at_risk_customers_are_named_by_the_partners_own_ids(insights: Path) -> None:
    page = (insights / "report.html").read_text()
    section = page.split("At-risk, high-value customers", 1)[1]

    ids = re.findall(r"<td>(c-\d+)</td>", section)
    assert ids, "the at-risk table lists no customer"
    assert not {"c-00003", "c-00007"} & set(ids)  # no consent: never scored, never shown


def test_the_forward_window_is_checked_when_the_holdout_is_in_the_events(insights: Path) -> None:
    page = (insights / "report.html").read_text()

    assert "Window 1997-09-30 (exclusive) to 1998-06-30: the scores in the table" in page
    assert re.search(r"Normalised Gini of expected purchases: <b>-?\d\.\d{3}</b>", page)


def test_without_explanations_the_report_says_so_and_draws_no_drivers(tmp_path: Path) -> None:
    insights = _report(tmp_path, explain=False)
    page = (insights / "report.html").read_text()

    assert "Explanations were not computed" in page
    assert not (insights / PLOTS["drivers"]).exists()
    assert "the customers scored again as of" in page  # as of the latest event: look back


_PROBE = """<script>
window.addEventListener('load', () => {
  const imgs = Array.from(document.images);
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length;
  document.title = 'probe ' + imgs.length + ' images ' + broken + ' broken';
});
</script></body>"""


@pytest.mark.slow
def test_in_chromium_every_image_of_the_report_loads(insights: Path, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    page = insights / "probe.html"
    page.write_text((insights / "report.html").read_text().replace("</body>", _PROBE))
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1100,3000",
         "--disable-background-networking", "--disable-component-update", "--no-first-run",
         "--user-data-dir=" + str(tmp_path / "profile"), "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    title = re.search(r"<title>(probe [^<]*)</title>", done.stdout)
    assert title is not None, done.stderr[-2000:]
    assert title.group(1) == f"probe {len(PLOTS)} images 0 broken"


def test_at_risk_lists_valuable_customers_slipping_away_not_active_champions() -> None:
    from client_node.insight_report import InsightInputs, at_risk_high_value

    n = 20
    table = pd.DataFrame(
        {
            "customer_id": [f"c{i:02d}" for i in range(n)],
            "segment": ["champions"] * n,
            "churn_risk": ["low"] * n,
            "p_alive": [0.9] * n,
            "expected_purchases": [1.0] * n,
            "clv": [10.0] * n,
        }
    )
    history = pd.DataFrame(
        {"recency_weeks": [1.0] * n, "purchase_days": [5] * n, "past_spend": range(n)}
    )
    table.loc[19, "p_alive"] = 0.1  # the most valuable, and the least likely alive
    table.loc[18, "segment"] = "at risk"  # the second most valuable, bought often, not lately
    table.loc[0, "churn_risk"] = "high"  # at risk but of no past value

    shown = at_risk_high_value(InsightInputs(table, history, None, None, {}))

    assert shown["customer_id"].tolist() == ["c19", "c18"]
