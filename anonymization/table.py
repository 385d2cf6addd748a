"""Table-level pseudonymization, as the client node runs it on a partner's raw table."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

import pandas as pd

from anonymization.consent import apply_consent
from anonymization.errors import TableError
from anonymization.pseudonyms import Pseudonymizer
from anonymization.record import RecordIdentifiers, is_missing
from anonymization.schema import PartnerSchema

logger = logging.getLogger(__name__)

CUSTOMER_ID = "customer_id"

Progress = Callable[[int], None]
"""Called with the number of rows just finished (of one text column)."""


def _records(frame: pd.DataFrame, schema: PartnerSchema, ids: list[str]) -> list[RecordIdentifiers]:
    """One RecordIdentifiers per row; rows with equal identifiers share one object."""
    columns = list(schema.identifier_columns.items())
    values = [frame[column].tolist() for column, _ in columns]
    shared: dict[tuple[Any, ...], RecordIdentifiers] = {}
    records: list[RecordIdentifiers] = []
    for row, customer_id in enumerate(ids):
        row_values = tuple(column_values[row] for column_values in values)
        cache_key = (customer_id, *(str(v) for v in row_values))
        record = shared.get(cache_key)
        if record is None:
            by_kind: dict[str, list[object]] = {"customer_id": [customer_id]}
            for (_, kind), value in zip(columns, row_values, strict=True):
                by_kind.setdefault(kind, []).append(value)
            record = RecordIdentifiers.from_kinds(by_kind)
            shared[cache_key] = record
        records.append(record)
    return records


NO_CONSENT = "no_consent"
MISSING_CUSTOMER_ID = "missing_customer_id"


def usable_rows(
    df: pd.DataFrame, schema: PartnerSchema, *, consented_ids: Collection[str] | None = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The rows of `df` that `pseudonymize_table` keeps, and how many it drops for each reason
    (``no_consent``, ``missing_customer_id``; reasons with no row left out).

    Rows without consent (the schema's consent column, and `consented_ids` when given) go first,
    then rows whose customer id is missing or blank. Requires the schema's columns in `df`.
    """
    frame = df
    dropped: dict[str, int] = {}
    if schema.consent_column is not None or consented_ids is not None:
        frame = apply_consent(
            frame,
            consent_column=schema.consent_column,
            consented_ids=consented_ids,
            id_column=schema.customer_id,
        )
        dropped[NO_CONSENT] = len(df) - len(frame)
    present = [not is_missing(v) and str(v).strip() != "" for v in frame[schema.customer_id]]
    dropped[MISSING_CUSTOMER_ID] = present.count(False)
    if not all(present):
        frame = frame.loc[present]
    return frame, {reason: n for reason, n in dropped.items() if n}


def pseudonymize_table(
    df: pd.DataFrame,
    schema: PartnerSchema,
    pseudonymizer: Pseudonymizer,
    *,
    record_linked: bool = True,
    consented_ids: Collection[str] | None = None,
    progress: Progress | None = None,
    workers: int = 1,
) -> pd.DataFrame:
    """A copy of `df` safe to hand to feature building.

    - rows without consent (schema's consent column, and `consented_ids` of raw customer ids
      when given) and rows without a customer id are dropped;
    - `customer_id` holds the keyed pseudonym of the schema's customer id column, first;
    - identifier columns are dropped, or replaced by pseudonyms when the schema keeps them;
    - text columns are pseudonymized (with each row's own identifiers when `record_linked`);
    - the consent column is dropped; every other column is passed through unchanged.

    Text columns are analyzed in batches, in `workers` processes when more than one (see
    `anonymization.parallel`); the result is the same for any `workers`. `progress` is called
    with the number of rows of a text column just finished.

    Raises SchemaError when the schema names a column `df` lacks.

    Notes:
        Columns the schema does not name pass through untouched: list every column that can
        hold personal data in the schema.
    """
    schema.check_columns(df.columns)
    frame, dropped = usable_rows(df, schema, consented_ids=consented_ids)
    if dropped.get(MISSING_CUSTOMER_ID):
        logger.warning("dropped %d rows without a customer id", dropped[MISSING_CUSTOMER_ID])
    ids = [str(v).strip() for v in frame[schema.customer_id].tolist()]

    out: dict[str, Any] = {CUSTOMER_ID: pseudonymizer.pseudonyms(ids)}
    records = _records(frame, schema, ids) if record_linked and schema.text_columns else None
    texts: dict[str, list[object]] = {}
    for column in schema.text_columns:
        texts[column] = _pseudonymize_column(
            frame[column].tolist(), pseudonymizer, records, progress, workers
        )
    for column in frame.columns:
        if column in (schema.customer_id, schema.consent_column) or column == CUSTOMER_ID:
            continue
        if column in schema.identifier_columns:
            if column in schema.keep_pseudonymized:
                kind = schema.identifier_columns[column]
                out[column] = [
                    None if is_missing(v) else pseudonymizer.pseudonym(v, kind=kind)
                    for v in frame[column].tolist()
                ]
            continue
        out[column] = texts[column] if column in texts else frame[column].to_numpy()
    try:
        result = pd.DataFrame(out, index=pd.RangeIndex(len(ids)))
    except ValueError as err:
        raise TableError(f"cannot assemble the pseudonymized table ({err})") from err
    # The caches hold raw texts and identifiers: drop them once the table is done.
    pseudonymizer.clear_caches()
    logger.info("pseudonymized %d rows, %d text columns", len(result), len(schema.text_columns))
    return result


def _pseudonymize_column(
    values: list[object],
    pseudonymizer: Pseudonymizer,
    records: list[RecordIdentifiers] | None,
    progress: Progress | None,
    workers: int,
) -> list[object]:
    present = [row for row, value in enumerate(values) if not is_missing(value)]
    if progress is not None and len(present) < len(values):
        progress(len(values) - len(present))
    done = pseudonymizer.engine.pseudonymize_many(
        [str(values[row]) for row in present],
        pseudonymizer,
        records=[records[row] for row in present] if records is not None else None,
        workers=workers,
        progress=progress,
    )
    output = list(values)
    for row, text in zip(present, done, strict=True):
        output[row] = text
    return output
