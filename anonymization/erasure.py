"""The erasure list: pseudonyms of customers who asked to be forgotten.

One JSON object a line, `{"pseudonym": ..., "key_id": ..., "erased_at": ...}`; a line holding
only a pseudonym is accepted too. The list only grows; each change rewrites the file atomically
(write a temporary file, fsync, rename) under an exclusive lock, so a reader never sees half a
list. Erasure is honoured from the next training round on: each round reloads the list.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import re
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

import pandas as pd

from anonymization.errors import ErasureListError
from anonymization.pseudonyms import PSEUDONYM_HEX, Pseudonymizer

logger = logging.getLogger(__name__)

_PSEUDONYM = re.compile(rf"[0-9a-f]{{{PSEUDONYM_HEX}}}")


def _entries(source: Path) -> list[dict[str, str]]:
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as err:
        raise ErasureListError(f"{source}: cannot read erasure list ({err})") from err
    entries: list[dict[str, str]] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        if text.startswith("{"):
            try:
                entry = json.loads(text)
            except json.JSONDecodeError as err:
                raise ErasureListError(f"{source}, line {number}: not valid JSON") from err
            if not isinstance(entry, dict):
                raise ErasureListError(f"{source}, line {number}: expected a JSON object")
        else:
            entry = {"pseudonym": text}
        pseudonym = entry.get("pseudonym")
        if not isinstance(pseudonym, str) or not _PSEUDONYM.fullmatch(pseudonym):
            raise ErasureListError(
                f"{source}, line {number}: expected a {PSEUDONYM_HEX}-hex-character pseudonym"
            )
        entries.append({k: str(v) for k, v in entry.items()})
    return entries


def load_erasure_list(path: str | os.PathLike[str], *, key: bytes | None = None) -> frozenset[str]:
    """The erased pseudonyms at `path` (empty when the file does not exist yet).

    With `key`, raises ErasureListError when an entry was written under another key: its
    pseudonym would silently fail to match (see key rotation in docs/anonymization.md).
    """
    source = Path(path)
    entries = _entries(source)
    if key is not None:
        key_id = Pseudonymizer(key).key_id
        for number, entry in enumerate(entries, start=1):
            if entry.get("key_id", key_id) != key_id:
                raise ErasureListError(
                    f"{source}, entry {number}: written under key id {entry['key_id']}, "
                    f"but the current key id is {key_id}; re-run forget under the new key"
                )
    return frozenset(entry["pseudonym"] for entry in entries)


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    lock_path = target.with_name(target.name + ".lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_atomically(target: Path, lines: Iterable[str]) -> None:
    # Imported here: `insight` loads torch, which the rest of this module never needs.
    from insight import replace_atomically

    with replace_atomically(target, suffix="") as handle:
        handle.writelines((line + "\n").encode("utf-8") for line in lines)


def forget(
    customer_ids: Iterable[object], key: bytes, erasure_path: str | os.PathLike[str]
) -> list[str]:
    """Add the pseudonyms of `customer_ids` (raw ids) under `key` to the erasure list.

    Returns the pseudonyms newly added (those already listed are skipped). The parent folder of
    `erasure_path` must exist.
    """
    pseudonymizer = Pseudonymizer(key)
    target = Path(erasure_path)
    if not target.parent.is_dir():
        raise ErasureListError(f"{target}: folder {target.parent} does not exist")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with _locked(target):
        entries = _entries(target)
        listed = {entry["pseudonym"] for entry in entries}
        added: list[str] = []
        for customer_id in customer_ids:
            pseudonym = pseudonymizer.pseudonym(customer_id)
            if pseudonym not in listed:
                listed.add(pseudonym)
                added.append(pseudonym)
        if added:
            lines = [json.dumps(entry, sort_keys=True) for entry in entries]
            lines += [
                json.dumps(
                    {"pseudonym": p, "key_id": pseudonymizer.key_id, "erased_at": now},
                    sort_keys=True,
                )
                for p in added
            ]
            _write_atomically(target, lines)
    logger.info("erasure list %s: %d pseudonyms added", target, len(added))
    return added


def apply_erasure(
    df: pd.DataFrame, erasure_list: Collection[str], *, id_column: str = "customer_id"
) -> pd.DataFrame:
    """Drop the rows whose pseudonymized `id_column` is on the erasure list."""
    if id_column not in df.columns:
        raise ErasureListError(f"column '{id_column}': no such id column in the table")
    erased = df[id_column].isin(set(erasure_list))
    if erased.any():
        logger.info("erasure: dropped %d rows", int(erased.sum()))
    return df.loc[~erased].copy()
