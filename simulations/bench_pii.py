"""Benchmark: PII detection quality and pseudonymization throughput. Prints figures; asserts
nothing.

    fedinsight bench pii
    python -m simulations.bench_pii [--data PATH] [--records 4000] [--split test|dev|all]

Quality is measured on presidio-research's synthetic set (1,500 labelled records, read from
../shared; never committed), split in two halves by record index: `dev` (even) is the half rules
may be tuned on, `test` (odd) the held-out half reported by default. Figures:

- per-entity token precision and recall (a word is labelled by the span covering it);
- leaked-character share: of the characters of true spans, those no detection covers (they
  survive in the output, since every detection is replaced whole);
- ordinary words intact: of the words outside every labelled span, those no detection touches.

Throughput: records of five identifier fields (customer id, name, email, phone, address) and a
note of about 110 characters through `pseudonymize_table`, caches cold, in records per second of
wall time and of this process's CPU time (the machine is shared), against Presidio's stock
pattern recognizers and against this pipeline with its shortcuts turned off. Most Faker notes
hold no capital letter or digit, so the pre-filter skips Presidio for them; the real-text figures
(`simulations.bench_pii_real`: distinct texts of the same set, caches cold, one and several
processes, and the start-up of a fresh process) show the rate on text where it cannot.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from anonymization import (
    Pseudonymizer,
    TextEngine,
    make_pii_events,
    offline_analyzer,
    pii_schema,
    pseudonymize_table,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared/data/pii/presidio_synth_dataset_v2.json"
GOALS = {"records_per_s": 2000.0, "person_leak": 0.10, "ordinary_intact": 0.95}

# presidio-research labels -> Presidio entity names. Labels without a Presidio counterpart keep
# their own name; the offline default does not detect them, and their recall shows it.
LABELS = {
    "PERSON": "PERSON",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN_CODE",
    "IP_ADDRESS": "IP_ADDRESS",
    "US_SSN": "US_SSN",
    "DOMAIN_NAME": "URL",
    "GPE": "LOCATION",
    "STREET_ADDRESS": "STREET_ADDRESS",
    "ORGANIZATION": "ORGANIZATION",
    "DATE_TIME": "DATE_TIME",
    "NRP": "NRP",
    "TITLE": "TITLE",
    "AGE": "AGE",
    "ZIP_CODE": "ZIP_CODE",
    "US_DRIVER_LICENSE": "US_DRIVER_LICENSE",
}
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Sample:
    """One labelled text: (start, end, entity) spans in Presidio names."""

    text: str
    spans: tuple[tuple[int, int, str], ...]


def load_samples(path: Path, split: str = "test") -> list[Sample]:
    """The labelled records of `split` ("dev": even indices, "test": odd, "all")."""
    records = json.loads(path.read_text(encoding="utf-8"))
    samples = []
    for index, record in enumerate(records):
        if (split == "dev" and index % 2) or (split == "test" and not index % 2):
            continue
        spans = tuple(
            (s["start_position"], s["end_position"], LABELS.get(s["entity_type"], s["entity_type"]))
            for s in record["spans"]
        )
        samples.append(Sample(record["full_text"], spans))
    return samples


def _cover(length: int, spans: Sequence[tuple[int, int, str]]) -> list[str | None]:
    labels: list[str | None] = [None] * length
    for start, end, entity in spans:
        for i in range(start, min(end, length)):
            labels[i] = entity
    return labels


def evaluate(
    samples: Sequence[Sample], detect: Callable[[str], list[tuple[int, int, str]]]
) -> dict[str, Any]:
    """Token precision/recall per entity, leaked characters per entity, ordinary words intact."""
    tp: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    actual: Counter[str] = Counter()
    leaked: Counter[str] = Counter()
    pii_chars: Counter[str] = Counter()
    ordinary = intact = 0
    for sample in samples:
        found = detect(sample.text)
        truth = _cover(len(sample.text), sample.spans)
        guess = _cover(len(sample.text), found)
        for start, end, entity in sample.spans:
            for i in range(start, min(end, len(sample.text))):
                if not sample.text[i].isspace():
                    pii_chars[entity] += 1
                    leaked[entity] += guess[i] is None
        for word in _WORD.finditer(sample.text):
            true_label = truth[word.start()]
            guessed = sorted({g for g in guess[word.start() : word.end()] if g is not None})
            if true_label is None and not any(truth[word.start() : word.end()]):
                ordinary += 1
                intact += not guessed
            # A word covered by several detections counts as the first type alphabetically.
            label = guessed[0] if guessed else None
            if true_label is not None:
                actual[true_label] += 1
            if label is not None:
                predicted[label] += 1
                tp[label] += label == true_label
    entities = sorted(set(actual) | set(predicted))
    per_entity = {
        e: {
            "precision": tp[e] / predicted[e] if predicted[e] else None,
            "recall": tp[e] / actual[e] if actual[e] else None,
            "leaked_chars": leaked[e] / pii_chars[e] if pii_chars[e] else None,
            "support": actual[e],
        }
        for e in entities
    }
    total_chars = sum(pii_chars.values())
    return {
        "entities": per_entity,
        "leaked_chars_all": sum(leaked.values()) / total_chars if total_chars else 0.0,
        "ordinary_intact": intact / ordinary if ordinary else 1.0,
        "ordinary_words": ordinary,
    }


def _detector(
    engine: TextEngine, samples: Sequence[Sample]
) -> Callable[[str], list[tuple[int, int, str]]]:
    """Detections of `engine` on the samples' texts, analyzed as one batch."""
    texts = [sample.text for sample in samples]
    found = {
        text: [(r.start, r.end, r.entity_type) for r in results]
        for text, results in zip(texts, engine.analyze_many(texts), strict=True)
    }
    return lambda text: found[text]


def throughput_table(records: int, *, seed: int = 11) -> pd.DataFrame:
    """`records` synthetic rows: 5 identifier fields and a note, 3 events a customer."""
    events = pd.DataFrame(
        {
            "customer_id": [f"C{i // 3:06d}" for i in range(records)],
            "timestamp": pd.Timestamp("1997-03-01"),
            "quantity": [float(1 + i % 4) for i in range(records)],
            "amount": [float(5 + (i * 7) % 90) for i in range(records)],
        }
    )
    table = make_pii_events(events, seed=seed)
    table["consent"] = True
    return table


def _timed(run: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure_throughput(records: int) -> dict[str, dict[str, float]]:
    """Records/s of the offline default, of it without shortcuts, and of stock Presidio."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    from anonymization.engines import BlankSpacyNlpEngine

    table = throughput_table(records)
    schema = pii_schema()
    figures: dict[str, dict[str, float]] = {}

    fast = Pseudonymizer(bytes(range(32)))
    fast.pseudonymize_text("warm up: Anna Smith, 415-555-2671, anna@example.com")
    wall, cpu = _timed(lambda: pseudonymize_table(table, schema, fast))
    figures["offline default (table, 5 ids + note)"] = {
        "records": records,
        "wall_per_s": records / wall,
        "cpu_per_s": records / cpu,
    }

    sample = table.head(min(records, 600))
    plain_engine = TextEngine(offline_analyzer(), prefilter=False, cache_size=0)
    plain = Pseudonymizer(bytes(range(1, 33)), engine=plain_engine)
    wall, cpu = _timed(lambda: pseudonymize_table(sample, schema, plain))
    figures["same, pre-filter and cache off"] = {
        "records": len(sample),
        "wall_per_s": len(sample) / wall,
        "cpu_per_s": len(sample) / cpu,
    }

    # Stock Presidio warns about every non-English recognizer it skips, and its email
    # recognizer's tldextract prints tracebacks when it cannot download the suffix list
    # offline; neither is a figure, so both are kept out of the benchmark's output.
    for noisy in ("presidio-analyzer", "tldextract"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"])
    stock = AnalyzerEngine(
        nlp_engine=BlankSpacyNlpEngine(), registry=registry, supported_languages=["en"]
    )
    notes = sample["note"].tolist()
    stock.analyze(notes[0], language="en")
    wall, cpu = _timed(lambda: [stock.analyze(note, language="en") for note in notes])
    figures["stock Presidio patterns (analyze only)"] = {
        "records": len(notes),
        "wall_per_s": len(notes) / wall,
        "cpu_per_s": len(notes) / cpu,
    }
    return figures


def print_real_text(console: Console, path: Path) -> None:
    """Print the real-text throughput and start-up figures."""
    from simulations.bench_pii_real import report

    figures = report(path)
    speed = Table(
        title=f"Real text: {figures['texts']} distinct texts of presidio_synth_dataset_v2 "
        f"({figures['mean_chars']:.0f} characters on average), caches cold (texts/s)"
    )
    for column in ("pipeline", "texts", "wall", "CPU", "CPU ms/text"):
        speed.add_column(column)
    for name, row in figures["throughput"].items():
        speed.add_row(
            name,
            str(int(row["texts"])),
            f"{row['wall_per_s']:.0f}",
            f"{row['cpu_per_s']:.0f}",
            f"{row['cpu_ms_per_text']:.3f}",
        )
    console.print(speed)
    for name, (wall, cpu) in figures["startup"].items():
        console.print(f"start-up, {name}: {wall:.2f} s wall, {cpu:.2f} s CPU", highlight=False)
    before, after = (" ".join(f"{v:.1f}" for v in load) for load in figures["load_average"])
    console.print(f"load average (1, 5, 15 min) before: {before}; after: {after}", highlight=False)


def main(data: Path | None = None, records: int = 4000, split: str = "test") -> None:
    """Print throughput and detection figures."""
    console = Console()
    figures = measure_throughput(records)
    speed = Table(title="Pseudonymization throughput (records/s)")
    for column in ("pipeline", "records", "wall", "CPU"):
        speed.add_column(column)
    for name, row in figures.items():
        speed.add_row(
            name, str(int(row["records"])), f"{row['wall_per_s']:.0f}", f"{row['cpu_per_s']:.0f}"
        )
    console.print(speed)

    path = data or DATA
    if not path.is_file():
        console.print(f"[yellow]{path} not found: real-text and detection figures skipped[/yellow]")
        return
    print_real_text(console, path)
    samples = load_samples(path, split)
    engine = TextEngine(offline_analyzer(), prefilter=True)
    result = evaluate(samples, _detector(engine, samples))
    quality = Table(title=f"Offline default on presidio_synth_dataset_v2 ({split}: {len(samples)})")
    for column in ("entity", "support (words)", "precision", "recall", "leaked chars"):
        quality.add_column(column)

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}%"

    for entity, row in sorted(result["entities"].items(), key=lambda kv: -kv[1]["support"]):
        quality.add_row(
            entity,
            str(row["support"]),
            pct(row["precision"]),
            pct(row["recall"]),
            pct(row["leaked_chars"]),
        )
    console.print(quality)
    person = result["entities"].get("PERSON", {}).get("leaked_chars") or 0.0
    speed_now = next(iter(figures.values()))["wall_per_s"]
    console.print(
        f"throughput {speed_now:.0f} records/s wall (goal >= {GOALS['records_per_s']:.0f}); "
        f"PERSON leaked chars {100 * person:.1f}% (goal <= {100 * GOALS['person_leak']:.0f}%); "
        f"ordinary words intact {100 * result['ordinary_intact']:.1f}% of "
        f"{result['ordinary_words']} (goal >= {100 * GOALS['ordinary_intact']:.0f}%); "
        f"all PII leaked chars {100 * result['leaked_chars_all']:.1f}%",
        highlight=False,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--records", type=int, default=4000)
    parser.add_argument("--split", choices=("test", "dev", "all"), default="test")
    arguments = parser.parse_args()
    main(arguments.data, arguments.records, arguments.split)
