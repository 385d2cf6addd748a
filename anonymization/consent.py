"""Consent: records of customers who did not consent never reach feature building."""

from __future__ import annotations

import logging
import os
from collections.abc import Collection
from pathlib import Path

import pandas as pd

from anonymization.errors import ConsentError
from anonymization.record import is_missing

logger = logging.getLogger(__name__)

_YES = frozenset({"1", "true", "t", "yes", "y", "consented", "granted", "opt-in", "optin"})
_NO = frozenset({"0", "false", "f", "no", "n", "", "withdrawn", "denied", "opt-out", "optout"})


def consent_flag(value: object, *, row: int, column: str) -> bool:
    """Interpret one consent cell; a missing value is no consent.

    Raises ConsentError naming the row and column for a value that is neither yes nor no.
    """
    if is_missing(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().casefold()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ConsentError(f"row {row}, column '{column}': consent must be yes/no, true/false or 1/0")


def load_consent_file(path: str | os.PathLike[str]) -> frozenset[str]:
    """Customer ids that consented: one per line; blank lines and lines starting with # skipped."""
    source = Path(path)
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as err:
        raise ConsentError(f"{source}: consent file not found") from err
    except (OSError, UnicodeDecodeError) as err:
        raise ConsentError(f"{source}: cannot read consent file ({err})") from err
    return frozenset(
        line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")
    )


def apply_consent(
    df: pd.DataFrame,
    *,
    consent_column: str | None = None,
    consented_ids: Collection[str] | None = None,
    id_column: str = "customer_id",
) -> pd.DataFrame:
    """Keep only rows with consent, by a consent column, a set of consenting ids, or both.

    `consented_ids` must be in the same form as `df[id_column]` (raw ids before
    pseudonymization, pseudonyms after). Requires at least one of the two sources.
    """
    if consent_column is None and consented_ids is None:
        raise ConsentError("apply_consent needs a consent column or a set of consenting ids")
    keep = [True] * len(df)
    if consent_column is not None:
        if consent_column not in df.columns:
            raise ConsentError(f"column '{consent_column}': no such consent column in the table")
        flags = [
            consent_flag(value, row=row, column=consent_column)
            for row, value in enumerate(df[consent_column].tolist(), start=1)
        ]
        keep = [k and f for k, f in zip(keep, flags, strict=True)]
    if consented_ids is not None:
        if id_column not in df.columns:
            raise ConsentError(f"column '{id_column}': no such id column in the table")
        allowed = set(consented_ids)
        listed = [str(value).strip() in allowed for value in df[id_column].tolist()]
        keep = [k and f for k, f in zip(keep, listed, strict=True)]
    dropped = keep.count(False)
    if dropped:
        logger.info("consent: dropped %d of %d rows", dropped, len(df))
    return df.loc[keep].copy()
