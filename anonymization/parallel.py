"""Pseudonymizing many texts on several cores: chunks mapped over forked worker processes.

Workers are forked from the calling process, so they start with its text engine already built
(name lists loaded, patterns compiled) and with the pseudonymizer's key, and nothing but texts
and results crosses between processes. Results come back in input order and equal what one
process computes: every text's output depends on that text (and its record) alone.

Notes:
    Raw texts and records travel to the workers through pipes local to this machine and user,
    and the workers hold the key in memory as the caller does; they exit when the call returns.
    Forking needs a POSIX system; elsewhere, and for one worker, everything runs in this process.
    Use more than one worker only in a process that owns the machine's cores (a command line
    run), not inside a process that shares them with others, such as a simulation's actors.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from anonymization.pseudonyms import Pseudonymizer
    from anonymization.record import RecordIdentifiers
    from anonymization.text import TextEngine

logger = logging.getLogger(__name__)

Item = tuple[str, "RecordIdentifiers | None"]
Progress = Callable[[int], None]
"""Called with the number of texts (or rows) just finished."""

MIN_CHUNK: Final = 64
MAX_CHUNK: Final = 512
# Below this many texts per worker, forking costs more than the second core saves.
MIN_TEXTS_PER_WORKER: Final = 256
_CHUNKS_PER_WORKER: Final = 8

_worker_state: tuple[TextEngine, Pseudonymizer] | None = None


def usable_cores() -> int:
    """The CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def chunk_size(items: int, workers: int) -> int:
    """Texts per task: a few tasks per worker, so that one slow chunk does not idle the rest."""
    return max(MIN_CHUNK, min(MAX_CHUNK, math.ceil(items / (max(1, workers) * _CHUNKS_PER_WORKER))))


def worker_count(items: int, workers: int) -> int:
    """How many processes `map_chunks` uses for `items` texts when allowed `workers`."""
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(workers, items // MIN_TEXTS_PER_WORKER))


def map_chunks(
    engine: TextEngine,
    pseudonymizer: Pseudonymizer,
    items: Sequence[Item],
    *,
    workers: int,
    on_chunk: Callable[[int, list[str]], None],
) -> None:
    """Pseudonymize `items` chunk by chunk; `on_chunk(start, outputs)` receives each chunk's
    outputs, in input order, `start` being the index of the chunk's first item.

    Requires `workers` >= 1. When a worker dies, the chunks not yet returned are computed in
    this process instead, so the call still completes.
    """
    count = worker_count(len(items), workers)
    size = chunk_size(len(items), count)
    starts = list(range(0, len(items), size))
    if count <= 1 or len(starts) <= 1:
        for start in starts:
            on_chunk(start, engine.pseudonymize_chunk(items[start : start + size], pseudonymizer))
        return
    engine.warm_up(pseudonymizer)
    finished = 0
    try:
        # Fork: the workers inherit the built engine; initargs are not pickled under fork.
        with ProcessPoolExecutor(
            max_workers=count,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_adopt,
            initargs=(engine, pseudonymizer),
        ) as pool:
            chunks = [list(items[start : start + size]) for start in starts]
            for outputs in pool.map(_pseudonymize_chunk, chunks):
                on_chunk(starts[finished], outputs)
                finished += 1
    except BrokenProcessPool:
        logger.warning(
            "a pseudonymization worker died; finishing the last %d of %d chunks in this process",
            len(starts) - finished,
            len(starts),
        )
        for start in starts[finished:]:
            on_chunk(start, engine.pseudonymize_chunk(items[start : start + size], pseudonymizer))


def _adopt(engine: TextEngine, pseudonymizer: Pseudonymizer) -> None:
    global _worker_state
    _worker_state = (engine, pseudonymizer)


def _pseudonymize_chunk(chunk: list[Item]) -> list[str]:
    if _worker_state is None:
        raise RuntimeError("pseudonymization worker used before it was initialised")
    engine, pseudonymizer = _worker_state
    return engine.pseudonymize_chunk(chunk, pseudonymizer)
