"""Benchmark of the audit Merkle log: append, proofs, verification, recompute.

Run ``python -m simulations.bench_audit`` (``--leaves 100000`` for a quick run). Prints a
table; figures depend on the machine (say how many cores, and whether they were shared).
Optional comparisons with pymerkle and merkletools run when those are importable.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from audit import (
    LEAF_PREFIX,
    NODE_PREFIX,
    MerkleLog,
    SqliteStore,
    leaf_hash,
    recompute_store,
    verify_inclusion,
)

Row = tuple[str, str, str]


def _leaves(count: int, size: int) -> list[bytes]:
    pad = b"x" * max(0, size - 24)
    return [b'{"i":%09d,"p":"%s"}' % (i, pad) for i in range(count)]


def hashlib_floor(datas: list[bytes]) -> float:
    """Seconds for a plain hashlib loop: every leaf hash and every interior node, in memory."""
    sha256, leaf, node = hashlib.sha256, LEAF_PREFIX, NODE_PREFIX
    start = time.perf_counter()
    level = [sha256(leaf + d).digest() for d in datas]
    while len(level) > 1:
        paired = [
            sha256(node + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)
        ]
        level = paired + level[len(level) - len(level) % 2 :]
    return time.perf_counter() - start


def _per_second(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f} leaves/s"


def _timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _library_rate(name: str, module: object, datas: list[bytes]) -> float:
    """Seconds for one comparison library to build a tree of ``datas``."""
    if name == "pymerkle":
        tree = module.InmemoryTree(algorithm="sha256")  # type: ignore[attr-defined]
        return _timed(lambda: [tree.append_entry(d) for d in datas])
    tools = module.MerkleTools(hash_type="sha256")  # type: ignore[attr-defined]

    def build() -> None:
        tools.add_leaf([d.hex() for d in datas], True)
        tools.make_tree()

    return _timed(build)


def _compare_libraries(datas: list[bytes]) -> list[Row]:
    rows: list[Row] = []
    for name in ("pymerkle", "merkletools"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            rows.append((f"{name} build in memory", "not installed", ""))
            continue
        seconds = _library_rate(name, module, datas)
        shape = "RFC 6962 tree" if name == "pymerkle" else "not RFC 6962: no domain prefixes"
        rows.append(
            (
                f"{name} build in memory, {len(datas):,} leaves ({shape})",
                _per_second(len(datas), seconds),
                "",
            )
        )
    return rows


def _in_memory(datas: list[bytes]) -> tuple[float, bytes]:
    """Seconds to build the log in memory, and its root; the log is freed on return."""
    memory = MerkleLog()
    seconds = _timed(lambda: memory.extend(datas))
    return seconds, memory.root()


def run(leaves: int, batch: int, leaf_bytes: int, proofs: int, folder: Path) -> list[Row]:
    """Measure everything; return (measure, figure, goal) rows."""
    datas = _leaves(leaves, leaf_bytes)
    floor = hashlib_floor(datas)
    path = folder / "bench.sqlite"
    log = MerkleLog(path)
    start = time.perf_counter()
    for at in range(0, leaves, batch):
        log.extend(datas[at : at + batch])
    appended = time.perf_counter() - start
    in_memory, memory_root = _in_memory(datas)
    root = log.root()
    assert root == memory_root
    gc.collect()

    rng = random.Random(7)
    for index in rng.sample(range(leaves), min(proofs, leaves)):
        log.inclusion_proof(index, leaves)
    sample = rng.sample(range(leaves), min(proofs, leaves))
    start = time.perf_counter()
    made = [(index, log.inclusion_proof(index, leaves)) for index in sample]
    warm = (time.perf_counter() - start) / len(sample)
    hashes = [(index, leaf_hash(datas[index]), proof) for index, proof in made]
    start = time.perf_counter()
    for index, hashed, proof in hashes:
        verify_inclusion(hashed, index, leaves, proof, root)
    verified = (time.perf_counter() - start) / len(hashes)
    log.close()

    cold = []
    for index in rng.sample(range(leaves), 20):
        start = time.perf_counter()
        with MerkleLog(path, readonly=True) as reopened:
            reopened.inclusion_proof(index, leaves)
        cold.append(time.perf_counter() - start)
    store = SqliteStore(path, readonly=True)
    recompute = _timed(lambda: recompute_store(store))
    store.close()

    million = 1_000_000 / leaves
    rows: list[Row] = [
        ("hashlib floor (leaf + node hashes, no storage)", _per_second(leaves, floor), ""),
        (
            f"persisted extend, batches of {batch:,}",
            _per_second(leaves, appended),
            ">= 300,000 leaves/s",
        ),
        ("persisted / floor time ratio", f"{appended / floor:.2f}x", "<= 2.5x"),
        ("in-memory extend", _per_second(leaves, in_memory), ""),
        (
            f"inclusion proof, warm (mean of {len(sample):,} random)",
            f"{warm * 1e3:.3f} ms",
            "<= 0.1 ms",
        ),
        (
            "inclusion proof from a cold open (median of 20)",
            f"{statistics.median(cold) * 1e3:.2f} ms",
            "<= 10 ms",
        ),
        ("verify_inclusion (mean)", f"{verified * 1e3:.3f} ms", "<= 0.2 ms"),
        (
            "full recompute and compare from disk",
            f"{recompute * million:.2f} s per million",
            "<= 2.5 s per million",
        ),
        ("store size", f"{path.stat().st_size / 1e6:,.1f} MB", ""),
    ]
    return rows + _compare_libraries(datas[: min(leaves, 100_000)])


def main(argv: list[str] | None = None) -> None:
    """Parse sizes, run the benchmark, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--leaf-bytes", type=int, default=64)
    parser.add_argument("--proofs", type=int, default=2_000)
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="folder for the SQLite file (default: a temporary one)",
    )
    args = parser.parse_args(argv)
    console = Console()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    console.print(
        f"audit benchmark: {args.leaves:,} leaves of {args.leaf_bytes} bytes, "
        f"{os.cpu_count()} CPUs visible, load average {load} at start"
    )
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        rows = run(args.leaves, args.batch, args.leaf_bytes, args.proofs, Path(folder))
    table = Table(title="fedinsight audit log")
    for column in ("measure", "figure", "goal"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)


if __name__ == "__main__":
    main()
