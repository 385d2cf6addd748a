"""A partner scores its own customers: keyed by its own ids, consented only, kept at home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from anonymization import PartnerSchema
from client_node.errors import ClientNodeError
from client_node.homecoming import manifest_path, model_path
from client_node.node_state import NodeState
from client_node.scoring import ScoreRequest, score_node
from federation import RunSettings, build_manifest, save_model
from insight import CustomerSequenceModel, load_cdnow

ROOT = Path(__file__).resolve().parents[2]
RUN = "run-1"
SCORE_COLUMNS = {
    "customer_id", "p_alive", "p_purchase", "expected_purchases", "expected_purchases_p10",
    "expected_purchases_p90", "churn_risk", "segment",
}  # fmt: skip
VALUE_COLUMNS = {"expected_spend", "clv", "clv_p10", "clv_p90"}


def _node(tmp_path: Path, *, amounts: bool = True) -> tuple[Path, Path]:
    """A node folder (node.toml, schema with consent) keeping run-1's model; its raw CSV."""
    events = load_cdnow().events
    keep = sorted(events["customer_id"].unique())[:120]
    mine = events[events["customer_id"].isin(keep)].copy()
    mine["customer_id"] = "c-" + mine["customer_id"]
    mine["timestamp"] = mine["timestamp"].dt.strftime("%Y-%m-%d")
    mine["consent"] = ~mine["customer_id"].isin({"c-00003", "c-00007"})
    columns = ["customer_id", "timestamp", "consent"]
    columns += ["quantity", "amount"] if amounts else []
    root = tmp_path / "node"
    root.mkdir()
    raw = root / "events.csv"
    mine[columns].to_csv(raw, index=False)
    PartnerSchema("customer_id", consent_column="consent").save(root / "schema.toml")
    (root / "node.toml").write_text(
        'partner-name = "p0"\ndata-path = "events.csv"\nschema-path = "schema.toml"\n'
    )
    state = NodeState(root).ensure()
    torch.manual_seed(0)
    save_model(CustomerSequenceModel().state_dict(), model_path(state, RUN))
    manifest = build_manifest(
        RunSettings(calibration_end="1997-09-30", holdout_end="1998-06-30"),
        code_sha256="c" * 64,
        architecture_sha256="a" * 64,
    )
    manifest_path(state, RUN).write_text(json.dumps(manifest))
    return root, raw


def _score(root: Path, raw: Path, **request: object) -> pd.DataFrame:
    schema = root / "schema.toml"
    scored = score_node(NodeState(root), raw, schema, ScoreRequest(**request))  # type: ignore[arg-type]
    return scored.result.table


def test_scores_are_keyed_by_the_partners_own_ids_of_consented_customers(
    tmp_path: Path,
) -> None:
    root, raw = _node(tmp_path)
    table = _score(root, raw, as_of=pd.Timestamp("1997-09-30"), explain=False)
    written = pd.read_parquet(root / "insights" / "scores.parquet")
    assert written["customer_id"].tolist() == table["customer_id"].tolist()
    assert set(table.columns) == SCORE_COLUMNS | VALUE_COLUMNS
    assert len(table) == 118 and table["customer_id"].is_unique
    assert table["customer_id"].str.startswith("c-").all()
    assert not {"c-00003", "c-00007"} & set(table["customer_id"])
    assert ((table["p_purchase"] >= 0) & (table["p_purchase"] <= table["p_alive"])).all()
    assert (table["expected_purchases_p10"] <= table["expected_purchases_p90"]).all()
    assert (table["clv_p10"] <= table["clv"] + 1e-9).all()
    report = json.loads((root / "insights" / "report.json").read_text())
    assert report["run"] == RUN and report["horizon_weeks"] == pytest.approx(39.0)
    assert sum(s["customers"] for s in report["segments"].values()) == 118


def test_a_visit_log_without_amounts_is_scored_without_value_columns(tmp_path: Path) -> None:
    root, raw = _node(tmp_path, amounts=False)
    out = tmp_path / "scores.csv"
    table = _score(root, raw, out=out, horizon_weeks=13.0)
    assert set(table.columns) == SCORE_COLUMNS | {"top_drivers"}
    written = pd.read_csv(out, dtype={"customer_id": str})
    assert written["customer_id"].tolist() == table["customer_id"].tolist()
    report = json.loads((tmp_path / "report.json").read_text())
    assert any("no amounts" in note for note in report["notes"])
    assert report["global_drivers"]["amounts"] < 1e-4 * report["global_drivers"]["frequency"]
    assert np.isfinite(table["expected_purchases"]).all()


def test_a_model_file_changed_on_disk_is_not_used(tmp_path: Path) -> None:
    root, raw = _node(tmp_path)
    path = model_path(NodeState(root), RUN)
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ClientNodeError, match=r"is not the .* it was kept with"):
        _score(root, raw)


def test_a_node_without_a_kept_model_says_so(tmp_path: Path) -> None:
    root, raw = _node(tmp_path)
    for p in (root / "models").iterdir():
        p.unlink()
    with pytest.raises(ClientNodeError, match="keeps no model"):
        _score(root, raw)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "node", "score", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=dict(os.environ),
    )


def test_node_score_writes_csv_and_prints_no_customer_id(tmp_path: Path) -> None:
    root, _ = _node(tmp_path)
    out = tmp_path / "x.csv"
    proc = _cli(str(root), "--run", RUN, "--as-of", "1997-09-30", "--out", str(out),
                "--no-explain")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "scored 118 customers" in proc.stdout
    assert "c-0" not in proc.stdout + proc.stderr
    assert len(pd.read_csv(out)) == 118


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "30/09/1997"], "is not a day of the form YYYY-MM-DD"),
        (["--horizon", "0"], "--horizon must be a positive"),
        (["--run", "nope"], "no model of run 'nope'"),
        (["--out", "scores.xlsx"], "must end in .parquet or .csv"),
    ],
)
def test_node_score_refuses_bad_options_in_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    root, _ = _node(tmp_path)
    # In this process (the command's own code, without a Python start-up per case); the
    # subprocess test above covers the command as a user starts it.
    result = CliRunner().invoke(app, ["node", "score", str(root), *args])

    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    assert isinstance(result.exception, SystemExit)  # a clean exit, no traceback
