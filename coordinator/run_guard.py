"""Keeping runs apart: one process runs a run directory at a time, a finished run is never run
again, and a run submitted again under its name must carry the run config it started with.

Only a genuine crash leads to a resume: an unfinished audit log whose run directory no live
process has locked. The lock is an exclusive ``fcntl.flock`` on ``RUN_DIR/run.lock``, taken by
the ServerApp before it opens the audit log (so a second ServerApp of the same run directory,
however it was started, is refused before it asks any partner for anything) and released by the
kernel when the process ends, even on ``kill -9``. ``fedinsight coordinator run`` holds
``RUN_DIR/submit.lock`` the same way while it follows its run, so that two submissions of one
name cannot both submit and then read each other's progress.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from types import TracebackType
from typing import Any

from audit import SqliteStore, parse_record
from coordinator.errors import ConfigMismatchError, RunFinishedError, RunLockedError
from federation import MANIFEST_SECTIONS, RunDir, RunSettings, run_manifest
from insight import replace_atomically

__all__ = [
    "RunLock",
    "check_not_finished",
    "check_same_config",
    "store_run_config",
]

# Keys that name the run directory itself: the same for every submission of one name.
_NOT_COMPARED = frozenset({"run-dir"})


class RunLock:
    """An exclusive, non-blocking ``flock`` on ``path`` (created if missing), held from
    ``acquire`` (or ``with``) until ``release`` or the process ends.

    Two ``RunLock`` objects on one path exclude each other even within one process (each opens
    its own file description). The holder's pid is written into the file for the message a
    refused locker gets; the file itself is never removed (removing it would let a third locker
    lock a new inode while the first still holds the old one).
    """

    def __init__(self, path: Path, *, what: str) -> None:
        self.path = path
        self.what = what  # "run r1", "submission of r1": how the refusal names it
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            RunLockedError: another live holder has it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunLockedError(
                f"{self.what} is in progress (process {holder} holds {self.path}); "
                "nothing was run: wait for it to end, or choose another name"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def check_not_finished(run_dir: Path) -> None:
    """Refuse a run directory whose audit log holds ``run_end``.

    Reads the log read-only (no signing key needed); a run directory without a log passes.

    Raises:
        RunFinishedError: the run finished; carries its rounds and final model hash.
    """
    log_path = RunDir(run_dir).audit_log
    if not log_path.exists():
        return
    store = SqliteStore(log_path, readonly=True)
    try:
        size = store.stored_size()
        last = parse_record(store.leaves(size - 1, size)[0]) if size else None
    finally:
        store.close()
    # run_end is always the last record: the log refuses any record after it.
    if last is not None and last["type"] == "run_end":
        model = (
            f"final model {last['final_model_hash'][:16]}…"
            if RunDir(run_dir).model.exists()
            else "no model (no round trained)"
        )
        raise RunFinishedError(
            f"run {run_dir.name} already finished: {last['rounds']} round(s), {model}; "
            "nothing was run (choose a new name for a new run)",
            rounds=int(last["rounds"]),
            final_model_hash=str(last["final_model_hash"]),
        )


def _compared(settings: RunSettings) -> dict[str, Any]:
    return {k: v for k, v in settings.to_flower().items() if k not in _NOT_COMPARED}


def store_run_config(run_dir: Path, settings: RunSettings) -> None:
    """Keep the run config a new run starts with, for ``check_same_config`` to compare."""
    text = json.dumps(_compared(settings), indent=1, sort_keys=True) + "\n"
    with replace_atomically(RunDir(run_dir).run_config, mode=0o644) as out:
        out.write(text.encode())


def _differences(stored: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    return sorted(k for k in stored.keys() | wanted.keys() if stored.get(k) != wanted.get(k))


def check_same_config(run_dir: Path, settings: RunSettings) -> None:
    """Refuse ``settings`` for a run directory that holds a run started with another config.

    Compares with ``run_config.json`` (every run-config key but ``run-dir``); a run directory
    from before that file existed is compared on its manifest (code, architecture and every
    section of terms). A run directory holding neither passes.

    Raises:
        ConfigMismatchError: naming the keys that differ.
    """
    files = RunDir(run_dir)
    if files.run_config.exists():
        keys = _differences(json.loads(files.run_config.read_text()), _compared(settings))
        source = files.run_config
    elif files.manifest.exists():
        keys = _manifest_differences(json.loads(files.manifest.read_text()), settings)
        source = files.manifest
    else:
        return
    if keys:
        raise ConfigMismatchError(
            f"run {run_dir.name} was started with another run config ({source}); differing: "
            f"{', '.join(keys)}; nothing was run (choose a new name for a new run)",
            keys=keys,
        )


def _manifest_differences(stored: dict[str, Any], settings: RunSettings) -> list[str]:
    wanted = run_manifest(settings)
    keys = [
        name
        for name in ("code_sha256", "architecture_sha256")
        if stored.get(name) != wanted.get(name)
    ]
    for part in MANIFEST_SECTIONS:
        keys += _differences(dict(stored.get(part, {})), dict(wanted.get(part, {})))
    return sorted(keys)
