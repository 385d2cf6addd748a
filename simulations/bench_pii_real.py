"""The PII benchmark on real text: distinct texts per second, caches cold, and start-up.

Part of `fedinsight bench pii` (see `simulations.bench_pii`). The texts are the full texts of
presidio-research's synthetic set (sentences of news and web text with personal data inserted,
85 characters on average), each distinct one once, so no cache can help; each pipeline is built
afresh and warmed up (patterns compiled) before it is timed, and its word caches start empty.

- "one at a time, spaCy tokenizer": the pipeline as it was before batching, for comparison:
  `pseudonymize` text by text, on a blank spaCy pipeline whose tokens no recognizer reads;
- "batched, N processes": `pseudonymize_texts(texts, workers=N)`, the path tables take;
- "table, records linked": `pseudonymize_table` of one row a text, with synthetic identifiers,
  so every row also runs its record-linked recognizer.

CPU time counts this process and its worker processes. Start-up is measured in fresh processes:
the library (imports, engine, warm-up), and the `fedinsight pseudonymize` command on 3 rows.
"""

from __future__ import annotations

import functools
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from anonymization import (
    Pseudonymizer,
    TextEngine,
    generate_key_file,
    offline_analyzer,
    pii_schema,
    pseudonymize_table,
    usable_cores,
    write_pii_schema,
)
from anonymization.parallel import worker_count

_KEY = bytes(range(32))
_STARTUP_PROBE = """
from anonymization import import_offline_default
import_offline_default()
from anonymization import Pseudonymizer, default_engine
engine = default_engine()
engine.warm_up(Pseudonymizer(bytes(32), engine=engine))
"""


def distinct_texts(path: Path) -> list[str]:
    """The distinct full texts of the presidio-research set, in file order."""
    import json

    records = json.loads(path.read_text(encoding="utf-8"))
    return list(dict.fromkeys(record["full_text"] for record in records))


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds (this process and the children it waited for) of `run()`."""
    wall, cpu = time.perf_counter(), _cpu_seconds()
    run()
    return time.perf_counter() - wall, _cpu_seconds() - cpu


def _cold(engine: TextEngine) -> Pseudonymizer:
    """A pseudonymizer on `engine`, warmed up, then with every text and word cache emptied."""
    from anonymization.lexicon import name_key

    pseudonymizer = Pseudonymizer(_KEY, engine=engine)
    engine.warm_up(pseudonymizer)
    engine.clear_caches()
    name_key.cache_clear()
    return pseudonymizer


def _tokenizing_engine() -> TextEngine:
    from presidio_analyzer import AnalyzerEngine

    from anonymization.engines import BlankSpacyNlpEngine, NoContextEnhancer

    offline = offline_analyzer()
    analyzer = AnalyzerEngine(
        nlp_engine=BlankSpacyNlpEngine(),
        registry=offline.registry,
        supported_languages=["en"],
        context_aware_enhancer=NoContextEnhancer(),
    )
    return TextEngine(analyzer, prefilter=True, cache_size=0)


def _row(count: int, wall: float, cpu: float, workers: int) -> dict[str, float]:
    return {
        "texts": count,
        "workers": workers,
        "wall_per_s": count / wall,
        "cpu_per_s": count / cpu,
        "cpu_ms_per_text": 1000 * cpu / count,
    }


def measure_real_text(texts: list[str]) -> dict[str, dict[str, float]]:
    """Texts per second of each pipeline (see the module docstring)."""
    figures: dict[str, dict[str, float]] = {}
    engine = _tokenizing_engine()
    before = _cold(engine)
    wall, cpu = timed(lambda: [engine.pseudonymize(text, before) for text in texts])
    figures["one at a time, spaCy tokenizer (before)"] = _row(len(texts), wall, cpu, 1)
    for workers in sorted({1, usable_cores()}):
        batched = _cold(TextEngine(offline_analyzer(), prefilter=True, cache_size=0))
        wall, cpu = timed(functools.partial(batched.pseudonymize_texts, texts, workers=workers))
        used = worker_count(len(texts), workers)
        figures[f"batched, {used} process{'es' if used > 1 else ''}"] = _row(
            len(texts), wall, cpu, used
        )
    table = _real_text_table(texts)
    schema = pii_schema()
    linked = _cold(TextEngine(offline_analyzer(), prefilter=True, cache_size=0))
    workers = usable_cores()
    wall, cpu = timed(lambda: pseudonymize_table(table, schema, linked, workers=workers))
    used = worker_count(len(texts), workers)
    figures[f"table, records linked, {used} processes"] = _row(len(texts), wall, cpu, used)
    return figures


def _real_text_table(texts: list[str]) -> pd.DataFrame:
    from simulations.bench_pii import throughput_table

    table = throughput_table(len(texts))
    table["note"] = texts
    return table


def measure_startup() -> dict[str, tuple[float, float]]:
    """Wall and CPU seconds of a fresh process: the library made ready, and the
    `fedinsight pseudonymize` command on a 3-row table."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_root(), _pythonpath()]))}
    figures = {"library: import, build, warm up": _run([sys.executable, "-c", _STARTUP_PROBE], env)}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_pii_schema(root / "schema.toml")
        generate_key_file(root / "key")
        _real_text_table(["Call Anna Smith back", "no note", "at 415-555-2671"]).to_csv(
            root / "in.csv", index=False
        )
        command = [sys.executable, "-m", "cli.main", "pseudonymize", str(root / "in.csv")]
        command += ["--out", str(root / "out.csv"), "--schema", str(root / "schema.toml")]
        command += ["--key-file", str(root / "key")]
        figures["fedinsight pseudonymize, 3 rows"] = _run(command, env)
    return figures


def _root() -> str:
    return str(Path(__file__).resolve().parents[1])


def _pythonpath() -> str:
    return os.environ.get("PYTHONPATH", "")


def _run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    return timed(lambda: subprocess.run(command, env=env, check=True, capture_output=True))


def report(path: Path) -> dict[str, Any]:
    """Every real-text figure, with the load average when measured."""
    texts = distinct_texts(path)
    load_before = os.getloadavg()
    startup = measure_startup()
    speed = measure_real_text(texts)
    return {
        "texts": len(texts),
        "mean_chars": sum(map(len, texts)) / len(texts),
        "throughput": speed,
        "startup": startup,
        "load_average": (load_before, os.getloadavg()),
    }
