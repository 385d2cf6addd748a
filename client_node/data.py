"""A partner's own data: found, pseudonymized at the partner, turned into windows.

Where the raw events come from, in order:

1. ``node_config["data-path"]``: a partner's file (deployment engine), with its state folder in
   ``node_config["state-dir"]`` and its column roles in ``node_config["schema-path"]``;
2. ``partners-dir`` in the run config plus ``node_config["partition-id"]``: the partner homes a
   ``fedinsight simulate`` run prepared (``<partners-dir>/<partner>/raw.parquet``);
3. otherwise the run's dataset (bundled CDNOW by default), split deterministically with the run's
   ``split`` and ``seed``: what a plain ``flwr run .`` in simulation uses.

Every record is pseudonymized before it is used: customer ids become keyed pseudonyms (HMAC under
the partner's own key), identifier columns are dropped, free text goes through Presidio,
customers without consent are left out, and customers on the erasure list are dropped. Only then
do events reach feature building, and only events on or before the end of calibration.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import pickle
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from anonymization import (
    AnonymizationError,
    PartnerSchema,
    Pseudonymizer,
    apply_erasure,
    load_erasure_list,
    pseudonymize_table,
)
from client_node.errors import PartnerDataError
from client_node.node_state import NodeState
from client_node.raw_input import RawLimits, read_partner_file
from client_node.source import RAW_FILE, PartnerSource, resolve_source
from federation import RunSettings
from insight import (
    DataError,
    PartnerData,
    load_dataset,
    partition_customers,
    prepare_partner,
    replace_atomically,
    validate_events,
    write_event_file,
)

logger = logging.getLogger(__name__)


def load_partner(
    settings: RunSettings,
    node_config: Mapping[str, object],
    source: PartnerSource | None = None,
) -> PartnerData:
    """The partner's windows, from pseudonymized, consented, not-erased events.

    Prepared lazily: nothing of a partner is ingested or windowed until a message asks for its
    data. The windows are then kept on disk in the partner's state folder (see
    ``_prepared_path``) and loaded from there by every later message, in a deployed node's
    fresh ClientApp process as in a simulation's long-lived actor. In memory a process keeps
    only the partner it served last, so a simulation actor that serves a hundred partners in
    turn needs the memory of one, not of the federation.
    """
    source = source or resolve_source(settings.to_flower(), node_config)
    state = source.state.ensure()
    if source.raw_path is None:
        assert source.partition_id is not None
        raw_path = _materialize_partition(settings, source.partition_id, state.root)
    else:
        raw_path = source.raw_path
    if not raw_path.exists():
        raise PartnerDataError(f"partner data file not found: {raw_path}")
    erasure_mtime = state.erasure_path.stat().st_mtime_ns if state.erasure_path.exists() else 0
    return _cached_partner(
        settings,
        source.name,
        str(raw_path),
        raw_path.stat().st_mtime_ns,
        state,
        str(source.schema_path or ""),
        erasure_mtime,
    )


# One entry: the partner a process served last (a deployed node's process serves one message;
# a simulation actor's next message is most often for another partner, loaded from disk).
@functools.lru_cache(maxsize=1)
def _cached_partner(
    settings: RunSettings,
    name: str,
    raw_path: str,
    _raw_mtime: int,
    state: NodeState,
    schema_path: str,
    _erasure_mtime: int,
) -> PartnerData:
    schema = PartnerSchema.load(schema_path) if schema_path else PartnerSchema("customer_id")
    digest = _input_digest(Path(raw_path), schema, state)
    prepared = _prepared_path(settings, name, digest, state)
    if prepared.exists():
        try:
            with prepared.open("rb") as fh:
                data: PartnerData = pickle.load(fh)  # our own file, in the node's 0700 folder
            return data
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
            logger.warning("prepared-data cache unreadable (%s); rebuilding it", exc)
    events = ingest(Path(raw_path), schema, state, input_digest=digest)
    data = prepare_partner(
        name, events, periods=settings.periods(), features=settings.feature_config()
    )
    _write_prepared(data, prepared)
    return data


PREPARED_DIR = "prepared"


def _input_digest(raw_path: Path, schema: PartnerSchema, state: NodeState) -> str:
    """sha256 over what the pseudonymized table depends on: the raw file's content, the
    pseudonymization key's public id and the schema."""
    digest = hashlib.sha256()
    try:
        with raw_path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise PartnerDataError(f"{raw_path}: cannot read the file ({exc.strerror})") from None
    digest.update(Pseudonymizer(state.pseudonym_key()).key_id.encode())
    digest.update(json.dumps(schema.columns).encode())
    return digest.hexdigest()


def _prepared_path(settings: RunSettings, name: str, input_digest: str, state: NodeState) -> Path:
    """Where this partner's prepared windows are cached: keyed by the input (see
    ``_input_digest``), the erasure list and the feature settings.

    The deployment engine starts a new ClientApp process for every message; with this cache
    each one loads the windows (tens of ms) instead of rebuilding them (seconds).
    """
    digest = hashlib.sha256(input_digest.encode())
    if state.erasure_path.exists():
        digest.update(state.erasure_path.read_bytes())
    terms = (name, settings.calibration_end, settings.holdout_end, settings.max_events,
             settings.num_windows, settings.calibration_start)  # fmt: skip
    digest.update(json.dumps(terms).encode())
    return state.root / PREPARED_DIR / f"{digest.hexdigest()[:24]}.pkl"


def _write_prepared(data: PartnerData, path: Path) -> None:
    """Atomically, 0600; old entries of this partner are removed (one input at a time)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for old in path.parent.glob("*.pkl"):
        if old != path:
            old.unlink(missing_ok=True)
    with replace_atomically(path, fsync=False) as fh:
        pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)


def ingest(
    raw_path: Path,
    schema: PartnerSchema,
    state: NodeState,
    *,
    limits: RawLimits | None = None,
    input_digest: str = "",
) -> pd.DataFrame:
    """Pseudonymized, consented, not-erased events in the event schema.

    The pseudonymized table is cached in the state folder, keyed by the raw file's hash, the
    key's public id and the schema, so Presidio runs once per input, not once per round. The
    erasure list is applied on every call: a customer forgotten now is gone from the next round.

    The raw file is checked before anything is pseudonymized (see `client_node.raw_input` for
    what it may hold, and `limits` for the longest line and the allowed dates), and the cache
    is written only for a table that passes `validate_events`, atomically.

    Raises:
        PartnerDataError: for a malformed or unusable file, naming the file and the line (CSV)
            or row (Parquet) and column, never a cell's value. Nothing is written then.
    """
    key = state.pseudonym_key()
    pseudonymizer = Pseudonymizer(key)
    digest = input_digest or _input_digest(raw_path, schema, state)
    cached = state.ingested_dir / f"{digest[:24]}.parquet"
    erasure_list = load_erasure_list(state.erasure_path, key=key)
    if cached.exists():
        table = apply_erasure(pd.read_parquet(cached), erasure_list)
        return _validated(table, raw_path)
    raw = read_partner_file(raw_path, schema, limits=limits)
    try:
        table = pseudonymize_table(raw, schema, pseudonymizer)
    except AnonymizationError as exc:
        raise PartnerDataError(f"{raw_path}: {exc}") from exc
    table = _validated(table, raw_path)
    write_event_file(table, cached)
    logger.info("ingested %d pseudonymized rows (%d dropped)", len(table), len(raw) - len(table))
    # Validated already, and erasure only drops rows: a fresh index is all that is left to do.
    return apply_erasure(table, erasure_list).reset_index(drop=True)


def _validated(table: pd.DataFrame, raw_path: Path) -> pd.DataFrame:
    try:
        return validate_events(table, source=str(raw_path))
    except DataError as exc:
        raise PartnerDataError(str(exc)) from exc


def _materialize_partition(settings: RunSettings, pid: int, home: Path) -> Path:
    """For a plain ``flwr run .``: this partition's raw events, written into its home."""
    path = home / RAW_FILE
    if path.exists():
        return path
    table = load_dataset(settings.dataset, settings.data_path or None, settings.columns)
    part = partition_customers(
        table.events,
        settings.split,
        num_partners=settings.num_partners,
        seed=settings.seed,
        calibration_end=settings.calibration_timestamp,
    )
    names = sorted(part.partners)
    if pid >= len(names):
        raise PartnerDataError(
            f"partition-id {pid} but the split {settings.split!r} kept {len(names)} partners"
        )
    ids = set(part.partners[names[pid]].tolist())
    write_event_file(table.events[table.events["customer_id"].isin(ids)], path)
    return path
