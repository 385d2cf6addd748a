"""A partner scores its own customers with a model that came home: nothing here leaves the node.

The node pseudonymizes its own events as for training (consent, erasure list and all), applies
the kept model (``models/<run>.pt``, checked against its ``.sha256``) with the feature settings
of the run's manifest, and maps the pseudonyms back to its own customer ids with its own key:
the pseudonyms are re-made from the raw ids of the consented customers, so no reverse table is
ever stored. The table goes to ``insights/scores.parquet`` in the node folder (or ``out``);
``insights/report.json`` holds the run, the model, the options, segment sizes, the global
drivers and the notes; ``insights/report.html`` (with its PNG plots) is the partner's insight
report (``client_node.insight_report``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from anonymization import PartnerSchema, Pseudonymizer, usable_rows
from client_node.data import ingest
from client_node.errors import ClientNodeError
from client_node.homecoming import kept_runs, manifest_path, model_path
from client_node.insight_report import InsightInputs, write_insight_report
from client_node.node_state import NodeState
from client_node.raw_input import read_partner_file
from federation import load_model_state, manifest_settings
from insight import CustomerSequenceModel, InsightError, replace_atomically
from insight.scoring import (
    ScoreOptions,
    ScoreResult,
    customer_history,
    score_customers,
    validation_window,
)

logger = logging.getLogger(__name__)

INSIGHTS_DIR = "insights"
SCORES_FILE = "scores.parquet"
REPORT_FILE = "report.json"


@dataclass(frozen=True)
class ScoreRequest:
    """What to score with: ``run`` None is the newest kept model; ``horizon_weeks`` None is the
    run's holdout length; ``as_of`` None is the latest event's day."""

    run: str | None = None
    horizon_weeks: float | None = None
    as_of: pd.Timestamp | None = None
    out: Path | None = None
    discount_rate: float = 0.10
    explain: bool = True


@dataclass(frozen=True)
class NodeScores:
    path: Path
    report_path: Path
    result: ScoreResult
    report: dict[str, Any]


def score_node(
    state: NodeState, raw_path: Path, schema_path: Path | None, request: ScoreRequest
) -> NodeScores:
    """Score the node's consented customers; write the table and the report (see module doc).

    Raises:
        ClientNodeError: no kept model, a model file that fails its hash, unusable data, or an
            option the data cannot honour; nothing is written then.
    """
    run = _run(state, request.run)
    model, digest = _load_model(state, run)
    settings = manifest_settings(json.loads(manifest_path(state, run).read_text("utf-8")))
    schema = PartnerSchema.load(schema_path) if schema_path else PartnerSchema("customer_id")
    events = ingest(raw_path, schema, state.ensure())
    if events.empty:
        raise ClientNodeError(f"{raw_path}: no consented customer to score")
    as_of = request.as_of or pd.Timestamp(events["timestamp"].max()).normalize()
    options = ScoreOptions(
        as_of=as_of,
        horizon_weeks=request.horizon_weeks or settings.holdout_weeks,
        features=settings.feature_config(),
        has_amounts=bool((events["amount"] > 0).any()),
        discount_rate=request.discount_rate,
        explain=request.explain,
    )
    try:
        result = score_customers(model, events, options)
    except (InsightError, ValueError) as exc:
        raise ClientNodeError(f"cannot score: {exc}") from None
    history = customer_history(events, as_of).reindex(result.table["customer_id"])
    window = validation_window(model, events, options, result.table)
    table = result.table.copy()
    table["customer_id"] = table["customer_id"].map(_own_ids(raw_path, schema, state))
    if table["customer_id"].isna().any():
        raise ClientNodeError("a scored pseudonym has no customer id in the raw file")
    table = table.sort_values("customer_id", kind="stable")
    history = history.set_axis(result.table.index).loc[table.index].reset_index(drop=True)
    table = table.reset_index(drop=True)
    out = request.out or state.root / INSIGHTS_DIR / SCORES_FILE
    report = _report(run, digest, options, result)
    _write_table(table, out)
    report_path = out.parent / REPORT_FILE
    with replace_atomically(report_path) as fh:
        fh.write(json.dumps(report, indent=2, sort_keys=True).encode())
    inputs = InsightInputs(table, history, window, result.importance, report)
    write_insight_report(inputs, out.parent)
    return NodeScores(out, report_path, replace(result, table=table), report)


def _run(state: NodeState, run: str | None) -> str:
    runs = kept_runs(state)
    if not runs:
        raise ClientNodeError(
            f"{state.root} keeps no model: a run's final model comes home at the run's end "
            "(into models/)"
        )
    if run is None:
        return runs[-1]
    if run not in runs:
        raise ClientNodeError(f"no model of run {run!r} here; kept: {', '.join(runs)}")
    return run


def _load_model(state: NodeState, run: str) -> tuple[CustomerSequenceModel, str]:
    path = model_path(state, run)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    sidecar = path.with_name(path.name + ".sha256")
    recorded = sidecar.read_text("utf-8").split()[0] if sidecar.exists() else ""
    if digest != recorded:
        raise ClientNodeError(
            f"{path}: sha256 {digest} is not the {recorded or 'missing'} it was kept with"
        )
    model = CustomerSequenceModel()
    model.load_state_dict(load_model_state(path))
    return model, digest


def _own_ids(raw_path: Path, schema: PartnerSchema, state: NodeState) -> dict[str, str]:
    """pseudonym -> the partner's own customer id, for its consented customers."""
    frame, _ = usable_rows(read_partner_file(raw_path, schema), schema)
    ids = sorted({str(v).strip() for v in frame[schema.customer_id].tolist()})
    pseudonyms = Pseudonymizer(state.pseudonym_key()).pseudonyms(ids)
    return dict(zip(pseudonyms, ids, strict=True))


def _report(run: str, digest: str, options: ScoreOptions, result: ScoreResult) -> dict[str, Any]:
    table = result.table
    value = "clv" if "clv" in table else "expected_purchases"
    by_segment = table.groupby("segment")[value].agg(["size", "sum"])
    total = float(by_segment["sum"].sum()) or 1.0
    return {
        "run": run,
        "model_sha256": digest,
        "as_of": str(options.as_of.date()),
        "horizon_weeks": options.horizon_weeks,
        "discount_rate": options.discount_rate,
        "customers": len(table),
        "segments": {
            str(name): {"customers": int(row["size"]), f"share_of_{value}": row["sum"] / total}
            for name, row in by_segment.iterrows()
        },
        "churn_risk": {str(k): int(v) for k, v in table["churn_risk"].value_counts().items()},
        "global_drivers": result.importance,
        "max_completeness_error": result.max_completeness_error,
        "notes": result.notes,
    }


def _write_table(table: pd.DataFrame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with replace_atomically(out) as fh:
        if out.suffix.lower() == ".csv":
            fh.write(table.to_csv(index=False).encode())
        else:
            table.to_parquet(fh, index=False)
    logger.info("wrote %d scores to the node's insights", len(table))
