"""`pseudonymize`, `forget` and `keygen`: a partner's pseudonymization commands.

Exported as plain functions (`pseudonymize` mounted by cli.main, `forget` and `keygen` by
cli.node_cmd) and as `pii_app`. A user's mistake (missing file, short key, unknown column,
unreadable table) prints one clear line and exits with code 1, never a traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from anonymization.errors import AnonymizationError

if TYPE_CHECKING:
    from anonymization import PartnerSchema

# The rest of anonymization (Presidio, spaCy) is imported by the commands that use it, so that
# every other `fedinsight` command starts fast.

pii_app = typer.Typer(
    help="Pseudonymize partner data before it is used.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)

_TABLE_SUFFIXES = (".csv", ".parquet")


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the errors a user can fix into one line and exit code 1."""
    try:
        yield
    except AnonymizationError as exc:
        raise _fail(str(exc)) from None
    except FileNotFoundError as exc:
        raise _fail(f"{exc.filename}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot parse the input table ({exc})") from None
    except (OSError, ValueError) as exc:
        raise _fail(str(exc)) from None


def _check_suffix(path: Path, role: str) -> None:
    if path.suffix.lower() not in _TABLE_SUFFIXES:
        raise _fail(f"{path}: the {role} must be a .csv or .parquet file")


def read_table(path: Path, schema: PartnerSchema) -> pd.DataFrame:
    """Read a csv (schema columns as text, so ids keep leading zeros) or parquet table.

    Read as a partner's file (`insight.tables`, private): a bad file exits with one line
    naming where the problem is, never a cell's value.
    """
    from insight import DataError
    from insight.tables import ReadOptions
    from insight.tables import read_table as read_private_table

    options = ReadOptions(
        formats=("csv", "parquet"),
        private=True,
        text_columns=tuple(c for c in schema.columns if c != schema.consent_column),
        known_columns=frozenset(schema.columns),
    )
    try:
        return read_private_table(path, options).frame
    except DataError as exc:
        raise _fail(str(exc)) from None


def write_table_atomically(df: pd.DataFrame, path: Path) -> None:
    """Write `df` next to `path` under a temporary name, then rename it into place."""
    from insight import replace_atomically

    with replace_atomically(path, suffix=path.suffix) as handle:
        if path.suffix.lower() == ".parquet":
            df.to_parquet(handle, index=False)
        else:
            df.to_csv(handle, index=False)


@pii_app.command("pseudonymize")
def pseudonymize(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="Raw table (.csv/.parquet).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output table (.csv/.parquet).")],
    schema: Annotated[Path, typer.Option("--schema", help="Partner schema (.toml/.json).")],
    key_file: Annotated[Path, typer.Option("--key-file", help="The partner's 32-byte key.")],
    consent_file: Annotated[
        Path | None, typer.Option("--consent-file", help="Consenting customer ids, one a line.")
    ] = None,
    record_linked: Annotated[
        bool, typer.Option(help="Also find each row's own identifiers in its text.")
    ] = True,
    spacy_model: Annotated[
        str | None, typer.Option("--spacy-model", help="An installed spaCy model to add NER.")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Processes analyzing text [default: the usable CPU cores]."),
    ] = None,
) -> None:
    """Pseudonymize INPUT into --out: keyed customer ids, identifiers dropped, text cleaned."""
    _check_suffix(input_path, "input")
    _check_suffix(out, "output")
    with _user_errors():
        if spacy_model is None:
            from anonymization import import_offline_default

            import_offline_default()
        from anonymization import (
            PartnerSchema,
            Pseudonymizer,
            apply_consent,
            load_consent_file,
            load_key,
            pseudonymize_table,
            spacy_model_engine,
            usable_cores,
        )

        partner_schema = PartnerSchema.load(schema)
        key = load_key(key_file)
        engine = spacy_model_engine(spacy_model) if spacy_model else None
        pseudonymizer = Pseudonymizer(key, engine=engine)
        consented = load_consent_file(consent_file) if consent_file else None
        if not input_path.is_file():
            raise _fail(f"{input_path}: input table not found")
        if not out.parent.is_dir():
            raise _fail(f"{out.parent}: output folder does not exist")
        raw = read_table(input_path, partner_schema)
        partner_schema.check_columns(raw.columns, source=str(input_path))
        rows_in = len(raw)
        if partner_schema.consent_column is not None or consented is not None:
            raw = apply_consent(
                raw,
                consent_column=partner_schema.consent_column,
                consented_ids=consented,
                id_column=partner_schema.customer_id,
            )
        total = max(1, len(raw) * len(partner_schema.text_columns))
        with Progress(
            TextColumn("pseudonymizing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task("rows", total=total)
            result = pseudonymize_table(
                raw,
                partner_schema,
                pseudonymizer,
                record_linked=record_linked,
                progress=lambda done: progress.advance(task, done),
                workers=workers or usable_cores(),
            )
        write_table_atomically(result, out)
    console.print(
        f"{out}: {len(result)} of {rows_in} rows written "
        f"({rows_in - len(result)} without consent or id); key id {pseudonymizer.key_id}",
        highlight=False,
        soft_wrap=True,
    )


@pii_app.command("forget")
def forget(
    key_file: Annotated[Path, typer.Option("--key-file", help="The partner's key.")],
    erasure_list: Annotated[
        Path, typer.Option("--erasure-list", help="The erasure list (JSON lines) to append to.")
    ],
    customer_ids: Annotated[
        list[str] | None, typer.Argument(metavar="CUSTOMER_ID...", help="Raw customer ids.")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="A file of raw customer ids, one a line.")
    ] = None,
) -> None:
    """Add customers to the erasure list; they are left out from the next round on."""
    ids = list(customer_ids or [])
    with _user_errors():
        if file is not None:
            lines = file.read_text(encoding="utf-8").splitlines()
            ids += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        if not ids:
            raise _fail("give customer ids or --file")
        import anonymization

        key = anonymization.load_key(key_file)
        added = anonymization.forget(ids, key, erasure_list)
    already = len(set(ids)) - len(added)
    console.print(
        f"{erasure_list}: {len(added)} customers added, {already} already listed",
        highlight=False,
        soft_wrap=True,
    )


@pii_app.command("keygen")
def keygen(
    key_file: Annotated[Path, typer.Argument(help="Where to write the new key (mode 0600).")],
    force: Annotated[bool, typer.Option(help="Overwrite an existing key (rotates it).")] = False,
) -> None:
    """Create a partner's pseudonymization key."""
    with _user_errors():
        from anonymization import generate_key_file

        generate_key_file(key_file, overwrite=force)
    console.print(f"{key_file}: new key written (keep it secret; never commit it)")
