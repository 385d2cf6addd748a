"""A partner's own data, turned into training and evaluation windows at the partner.

Where the events come from, in order:

1. ``node_config["data-path"]``: a partner's file (deployment engine);
2. ``partners-dir`` in the run config plus ``node_config["partition-id"]``: the partner files a
   ``fedinsight simulate`` run prepared;
3. otherwise the run's dataset (bundled CDNOW by default), split deterministically with the run's
   ``split`` and ``seed`` — what a plain ``flwr run .`` in simulation uses.

Only events on or before the end of calibration reach feature building
(``insight.protocol.truncate_events``); holdout targets are computed separately, for evaluation.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from client_node.errors import PartnerDataError
from insight import (
    PartnerData,
    RunSettings,
    load_dataset,
    partition_customers,
    prepare_partner,
    read_event_file,
)

logger = logging.getLogger(__name__)


def resolve_source(
    settings: RunSettings, node_config: dict[str, object]
) -> tuple[str, Path | None, int | None]:
    """(partner name, events file or None, partition id or None) for this node."""
    data_path = str(node_config.get("data-path", "") or "")
    if data_path:
        name = str(node_config.get("partner-name", "") or Path(data_path).stem)
        return name, Path(data_path), None
    if "partition-id" not in node_config:
        raise PartnerDataError(
            "this node has neither a 'data-path' nor a 'partition-id' in its node config"
        )
    pid = int(str(node_config["partition-id"]))
    if settings.partners_dir:
        files = sorted(Path(settings.partners_dir).glob("*.parquet"))
        if pid >= len(files):
            raise PartnerDataError(
                f"partition-id {pid} but only {len(files)} partner files in {settings.partners_dir}"
            )
        return files[pid].stem, files[pid], None
    return f"partition-{pid}", None, pid


def load_partner(settings: RunSettings, node_config: dict[str, object]) -> PartnerData:
    name, path, pid = resolve_source(settings, node_config)
    if path is not None:
        return _cached_from_file(settings, name, str(path), path.stat().st_mtime_ns)
    assert pid is not None
    return _cached_from_partition(settings, pid)


@functools.lru_cache(maxsize=4)
def _cached_from_file(settings: RunSettings, name: str, path: str, _mtime: int) -> PartnerData:
    return prepare_partner(name, read_event_file(Path(path)), settings)


@functools.lru_cache(maxsize=4)
def _cached_from_partition(settings: RunSettings, pid: int) -> PartnerData:
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
    events = table.events[table.events["customer_id"].isin(ids)]
    return prepare_partner(names[pid], events, settings)
