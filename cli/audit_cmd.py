"""``fedinsight audit``: key generation, proof bundles, offline verification, the service."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from audit import (
    COSIGNATURE_V1,
    NOTE_ED25519,
    AuditError,
    NoteSigner,
    NoteVerifier,
    VerificationError,
    read_vkey,
    verify_bundle,
    verify_run_dir,
    write_bundle,
    write_signer,
    write_vkey,
)

app = typer.Typer(
    help="The audit log: keys, proof bundles, offline verification, service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    # One line whatever the width (soft_wrap), and text from a file is never markup (escape).
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.command()
def keygen(
    out: Annotated[Path, typer.Option("--out", help="Folder for the key files.")],
    name: Annotated[
        str, typer.Option(help="Key name; for the coordinator, the log origin.")
    ] = "fedinsight.local/audit",
    cosigner: Annotated[
        bool,
        typer.Option(
            "--cosigner",
            help="A partner's witness key (cosignature/v1) instead of the "
            "coordinator's checkpoint key.",
        ),
    ] = False,
    pem: Annotated[bool, typer.Option("--pem", help="Write the private key as PEM.")] = False,
) -> None:
    """Generate an Ed25519 key pair: ROLE.key (mode 0600) and ROLE.vkey (public)."""
    role = "witness" if cosigner else "coordinator"
    try:
        signer = NoteSigner.generate(name, COSIGNATURE_V1 if cosigner else NOTE_ED25519)
        key_path, vkey_path = out / f"{role}.key", out / f"{role}.vkey"
        if vkey_path.exists():
            raise _fail(f"{vkey_path} exists; refusing to overwrite a key")
        write_signer(key_path, signer, pem=pem)
        write_vkey(vkey_path, signer.verifier)
    except FileExistsError:
        raise _fail(f"{out / (role + '.key')} exists; refusing to overwrite a key") from None
    except AuditError as exc:
        raise _fail(str(exc), 2) from None
    console.print(f"private key: {key_path} (mode 0600, keep it secret)", highlight=False)
    console.print(f"verifier key: {vkey_path}", highlight=False)
    console.print(signer.verifier.vkey, highlight=False)


@app.command()
def proof(
    run_dir: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, help="The run directory.")
    ],
    round_number: Annotated[int, typer.Option("--round", min=1, help="Round to prove.")],
    out: Annotated[
        Path | None, typer.Option(help="Bundle file (default: RUN_DIR/audit/proofs/round-N.json).")
    ] = None,
) -> None:
    """Write a self-contained proof bundle for one round."""
    try:
        path = write_bundle(run_dir, round_number, out)
        report = verify_bundle(path)
    except (AuditError, OSError) as exc:
        raise _fail(str(exc)) from None
    console.print(
        f"wrote {path}: round {report.round_number} at index {report.index} of "
        f"tree size {report.tree_size}, cosigned by "
        f"{', '.join(report.cosigned_by) or 'no witness yet'}",
        highlight=False,
    )


@app.command()
def verify(
    target: Annotated[Path, typer.Argument(exists=True, help="A run directory or a bundle.")],
    model: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help=("Model file whose SHA-256 must be the run's final model hash."),
        ),
    ] = None,
    vkey: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help=("Coordinator verifier key obtained out of band (else the one beside the log)."),
        ),
    ] = None,
) -> None:
    """Verify a run directory or a proof bundle offline; exit 1 at the first failure."""
    try:
        key: NoteVerifier | None = None if vkey is None else read_vkey(vkey)
        if target.is_dir():
            run = verify_run_dir(target, model_path=model, coordinator_key=key)
            rows = [
                ("origin", run.origin),
                ("records", str(run.tree_size)),
                ("rounds", str(run.rounds)),
                ("run ended", "yes" if run.ended else "no"),
                ("checkpoints", str(run.checkpoints)),
                ("cosignatures", str(run.cosignatures)),
                ("model hash", "matches" if run.model_checked else "not checked"),
            ]
            rows += [
                (f"epsilon {p}", f"{e:.6g}") for p, e in sorted(run.epsilon_cumulative.items())
            ]
        else:
            if model is not None:
                raise _fail("--model applies to a run directory, not a bundle", 2)
            bundle = verify_bundle(target, coordinator_key=key)
            rows = [
                ("origin", bundle.origin),
                ("round", str(bundle.round_number)),
                ("index", str(bundle.index)),
                ("tree size", str(bundle.tree_size)),
                ("cosigned by", ", ".join(bundle.cosigned_by) or "nobody"),
            ]
    except VerificationError as exc:
        raise _fail(f"verification failed: {exc}") from None
    except (AuditError, OSError) as exc:
        raise _fail(str(exc)) from None
    table = Table(title="audit log verified", show_header=False)
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)
    if key is None:
        console.print(
            "note: checked against the coordinator key found beside the log; pass "
            "--vkey to pin the key you obtained out of band",
            highlight=False,
        )


@app.command()
def serve(
    run_dir: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, help="The run directory.")
    ],
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8700,
    token_env: Annotated[
        bool,
        typer.Option("--token-env", help="Require the bearer token from FEDINSIGHT_AUDIT_TOKEN."),
    ] = False,
) -> None:
    """Serve the read-only audit API and page (uvicorn)."""
    import uvicorn
    from pydantic import ValidationError

    from audit.service import AuditServiceSettings, create_app

    try:
        settings = AuditServiceSettings()
    except ValidationError as exc:
        raise _fail(f"FEDINSIGHT_AUDIT_* settings refused: {exc.errors()[0]['msg']}", 2) from None
    if settings.token is None and token_env:
        raise _fail("--token-env given but FEDINSIGHT_AUDIT_TOKEN is not set", 2)
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if settings.token is None and not loopback:
        raise _fail(f"refusing to serve on {host} without a token (set FEDINSIGHT_AUDIT_TOKEN)", 2)
    try:
        web = create_app(run_dir, settings)
    except AuditError as exc:
        raise _fail(str(exc)) from None
    uvicorn.run(web, host=host, port=port, log_level="info")
