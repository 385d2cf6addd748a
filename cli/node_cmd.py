"""``fedinsight node prove``: a partner shows whether a customer was in a round's data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True)


def prove(
    customer_id: Annotated[str, typer.Argument(help="the customer's raw id (never leaves here)")],
    state_dir: Annotated[Path, typer.Option(help="the node's state folder")],
    run_id: Annotated[str, typer.Option(help="the Flower run id the round belongs to")],
    round_number: Annotated[int, typer.Option("--round", min=1)],
    partner: Annotated[str, typer.Option(help="partner label (default: state folder name)")] = "",
    run_dir: Annotated[
        Path | None, typer.Option(help="run directory: check the root against its audit log")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="write the proof as JSON")] = None,
) -> None:
    """Prove that a customer's pseudonym was (or was not) in a round's data commitment."""
    from anonymization import AnonymizationError
    from audit import AuditError
    from client_node.commitments import proof_json, prove_customer
    from client_node.errors import ClientNodeError
    from client_node.node_state import NodeState

    try:
        result = prove_customer(
            NodeState(state_dir),
            customer_id,
            run_id=run_id,
            server_round=round_number,
            partner=partner or state_dir.name,
            run_dir=run_dir,
        )
    except (ClientNodeError, AnonymizationError, AuditError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from None
    verdict = "WAS" if result.member else "was NOT"
    console.print(
        f"the customer {verdict} in round {round_number}'s commitment "
        f"(root {result.commitment.root.hex()}, {result.commitment.tree_size} customers)"
    )
    if result.audit_root is not None:
        console.print("the root matches the audit log's record for this partner")
    if out is not None:
        out.write_text(proof_json(result))
        console.print(f"proof written to {out}")
