"""``fedinsight audit``: key generation, proof bundles, offline verification, the service."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from audit import (
    COSIGNATURE_V1,
    NOTE_ED25519,
    AuditError,
    NoteSigner,
    PolicyReport,
    TrustPolicy,
    VerificationError,
    bundle_policy,
    read_keys,
    read_trust_file,
    read_vkey,
    verify_bundle,
    verify_ledger,
    verify_run_dir,
    write_bundle,
    write_signer,
    write_vkey,
)
from audit.run.json_limits import MAX_BUNDLE_BYTES, read_json_file

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


def _trust(
    vkey: Path | None,
    witness_vkeys: list[Path],
    trust_file: Path | None,
    quorum: int | None,
    checkpoint: Path | None,
    allow_unfinished: bool,
) -> TrustPolicy:
    """The officer's trust from the options (a trust file, then --vkey/--witness-vkey add)."""
    base: dict[str, Any] = {"coordinator_key": None, "witness_keys": (), "quorum": None}
    if trust_file is not None:
        base = read_trust_file(trust_file)
    if vkey is not None:
        base["coordinator_key"] = read_vkey(vkey)
    base["witness_keys"] = (*base["witness_keys"], *read_keys(witness_vkeys))
    if base["coordinator_key"] is None or not base["witness_keys"]:
        raise _fail(
            "verify takes trust from you, not from the log: pass --vkey COORD.vkey and "
            "--witness-vkey P.vkey for each partner (or --trust FILE)",
            2,
        )
    note = None if checkpoint is None else checkpoint.read_text(encoding="utf-8")
    return TrustPolicy(
        coordinator_key=base["coordinator_key"],
        witness_keys=base["witness_keys"],
        quorum=quorum if quorum is not None else base["quorum"],
        checkpoint=note,
        allow_unfinished=allow_unfinished,
    )


def _policy_rows(policy: PolicyReport | None) -> list[tuple[str, str]]:
    if policy is None:
        return []
    rows = [
        ("coordinator key", policy.coordinator_vkey.split("+")[0]),
        ("trusted witnesses", ", ".join(v.split("+")[0] for v in policy.trusted_witnesses)),
        ("quorum", f"{policy.quorum} (fewest on a checkpoint: {policy.min_cosignatures})"),
    ]
    if policy.checkpoint_size is not None:
        rows.append(("kept checkpoint", f"size {policy.checkpoint_size}: extended"))
    for partner, eps in sorted(policy.epsilon.items()):
        again = "not recomputed" if eps.recomputed is None else f"{eps.recomputed:.9g}"
        rows.append(
            (
                f"epsilon {partner}",
                f"logged {eps.logged:.9g}, recomputed {again} ({eps.accountant})",
            )
        )
    return rows


# The officer's trust, the same options on verify and serve.
_VKey = Annotated[
    Path | None,
    typer.Option(
        exists=True, dir_okay=False, help="Coordinator verifier key obtained out of band."
    ),
]
_WitnessVKeys = Annotated[
    list[Path] | None,
    typer.Option(
        "--witness-vkey",
        exists=True,
        dir_okay=False,
        help="A partner's witness.vkey you trust (repeat for each partner).",
    ),
]
_TrustFile = Annotated[
    Path | None,
    typer.Option(
        exists=True,
        dir_okay=False,
        help='Trust file: JSON {"coordinator_vkey", "witness_vkeys": [...], "quorum"}.',
    ),
]
_Quorum = Annotated[
    int | None,
    typer.Option(
        min=0,
        help="Distinct partner cosignatures every checkpoint needs "
        "(default: every partner of the run).",
    ),
]
_AllowUnfinished = Annotated[
    bool, typer.Option("--allow-unfinished", help="Accept a run without run_end.")
]


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
    vkey: _VKey = None,
    witness_vkey: _WitnessVKeys = None,
    trust: _TrustFile = None,
    quorum: _Quorum = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="A signed checkpoint kept elsewhere (a partner's last cosigned): the log "
            "must extend it.",
        ),
    ] = None,
    allow_unfinished: _AllowUnfinished = False,
) -> None:
    """Verify a run directory or a proof bundle offline under the trust you give; exit 1 at
    the first failure."""
    try:
        policy = _trust(vkey, witness_vkey or [], trust, quorum, checkpoint, allow_unfinished)
        if target.is_dir():
            run = verify_run_dir(target, model_path=model, trust=policy)
            rows = [
                ("origin", run.origin),
                ("records", str(run.tree_size)),
                ("rounds", str(run.rounds)),
                ("run ended", "yes" if run.ended else "no"),
                ("checkpoints", str(run.checkpoints)),
                ("cosignatures", f"{run.cosignatures} distinct (size, key)"),
                ("model hash", "matches" if run.model_checked else "not checked"),
                *_policy_rows(run.policy),
            ]
        else:
            if model is not None:
                raise _fail("--model applies to a run directory, not a bundle", 2)
            bundle = verify_bundle(target, coordinator_key=policy.coordinator_key)
            data = read_json_file(target, max_bytes=MAX_BUNDLE_BYTES)
            report = bundle_policy(data, policy)
            rows = [
                ("origin", bundle.origin),
                ("round", str(bundle.round_number)),
                ("index", str(bundle.index)),
                ("tree size", str(bundle.tree_size)),
                ("cosigned by", ", ".join(bundle.cosigned_by) or "nobody"),
                *_policy_rows(report),
            ]
    except VerificationError as exc:
        raise _fail(f"verification failed: {exc}") from None
    except (AuditError, OSError, ValueError) as exc:
        raise _fail(str(exc)) from None
    table = Table(title="audit log verified", show_header=False)
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)


@app.command()
def ledger(
    bundles: Annotated[
        list[Path], typer.Argument(exists=True, dir_okay=False, help="Proof bundles, any runs.")
    ],
    witness_vkey: Annotated[
        Path,
        typer.Option(
            "--witness-vkey", exists=True, dir_okay=False, help="The partner's witness.vkey."
        ),
    ],
) -> None:
    """Check one partner's privacy-ledger chain across runs' bundles: no reset, total ε."""
    try:
        report = verify_ledger(list(bundles), read_vkey(witness_vkey))
    except VerificationError as exc:
        raise _fail(f"verification failed: {exc}") from None
    except (AuditError, OSError, ValueError) as exc:
        raise _fail(str(exc)) from None
    table = Table(title="partner ledger verified", show_header=False)
    again = report.recomputed_epsilon
    for label, value in (
        ("partner key", report.partner_key.split("+")[0]),
        ("rounds shown", str(report.rounds)),
        ("runs", ", ".join(report.runs)),
        ("ledger rows", f"{report.first_seq}..{report.last_seq} ({report.gaps} not shown)"),
        ("continuity", "one chain, no reset"),
        ("total epsilon", f"{report.total_epsilon:.9g}"),
        ("recomputed (rounds shown)", "not recomputed" if again is None else f"{again:.9g}"),
    ):
        table.add_row(label, value)
    console.print(table)


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
    vkey: _VKey = None,
    witness_vkey: _WitnessVKeys = None,
    trust: _TrustFile = None,
    quorum: _Quorum = None,
    allow_unfinished: _AllowUnfinished = False,
) -> None:
    """Serve the read-only audit API and page (uvicorn), verifying the log under the trust you
    give (--vkey and --witness-vkey, or --trust); without it the page says the log is checked
    only against its own keys."""
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
    given = vkey is not None or bool(witness_vkey) or trust is not None
    policy = (
        _trust(vkey, witness_vkey or [], trust, quorum, None, allow_unfinished) if given else None
    )
    try:
        web = create_app(run_dir, settings, trust=policy)
    except AuditError as exc:
        raise _fail(str(exc)) from None
    uvicorn.run(web, host=host, port=port, log_level="info")
