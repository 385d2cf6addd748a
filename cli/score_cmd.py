"""``fedinsight node score``: a partner scores its own customers with a model that came home.

Everything stays in the node's folder: the score table (``insights/scores.parquet``, or
``--out``; CSV when its name ends in ``.csv``) and ``insights/report.json``. The command prints
counts only, never a customer id or a score.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.deploy_common import console, fail


def node_score(
    folder: Annotated[Path, typer.Argument(help="the node's folder")],
    run: Annotated[
        str | None, typer.Option(help="the run whose model to use (default: the newest kept)")
    ] = None,
    horizon: Annotated[
        float | None,
        typer.Option(help="forecast horizon in weeks (default: the run's holdout length)"),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="score as of this day, YYYY-MM-DD (default: the latest event's day)"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="where to write the table (.parquet, or .csv)")
    ] = None,
    discount_rate: Annotated[
        float, typer.Option(help="annual discount rate of the CLV columns")
    ] = 0.10,
    explain: Annotated[
        bool, typer.Option(help="compute top_drivers and the global drivers (Captum)")
    ] = True,
) -> None:
    """Score, segment and explain this partner's consented customers."""
    import pandas as pd

    from anonymization import AnonymizationError
    from client_node.errors import ClientNodeError
    from client_node.home import NodeHome
    from client_node.scoring import ScoreRequest, score_node
    from federation import FederationError

    if horizon is not None and not horizon > 0:
        raise fail(f"--horizon must be a positive number of weeks, got {horizon}")
    if not discount_rate > -1:
        raise fail(f"--discount-rate must be above -1, got {discount_rate}")
    day = None
    if as_of is not None:
        try:
            day = pd.Timestamp(datetime.strptime(as_of, "%Y-%m-%d"))
        except ValueError:
            raise fail(f"--as-of {as_of!r} is not a day of the form YYYY-MM-DD") from None
    if out is not None and out.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise fail(f"--out {out}: the name must end in .parquet or .csv")
    home = NodeHome(folder.resolve())
    try:
        request = ScoreRequest(
            run=run, horizon_weeks=horizon, as_of=day, out=out,
            discount_rate=discount_rate, explain=explain,
        )  # fmt: skip
        scored = score_node(home.state, home.data_path(), home.schema_path(), request)
    except (ClientNodeError, AnonymizationError, FederationError, OSError) as exc:
        raise fail(str(exc)) from None
    report = scored.report
    console.print(
        f"scored {report['customers']} customers with run {report['run']}'s model, as of "
        f"{report['as_of']}, horizon {report['horizon_weeks']:.1f} weeks"
    )
    for name, seg in sorted(report["segments"].items()):
        console.print(f"  {name}: {seg['customers']}")
    for note in report["notes"]:
        console.print(f"note: {note}")
    console.print(f"scores: {scored.path}")
    console.print(f"report: {scored.report_path}")
