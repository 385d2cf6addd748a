"""Batched and multi-process pseudonymization give what one text at a time gives, in order."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from presidio_analyzer import AnalyzerEngine

import anonymization.parallel as parallel
from anonymization import (
    Pseudonymizer,
    RecordIdentifiers,
    TextEngine,
    make_pii_events,
    offline_analyzer,
    pii_schema,
    pseudonymize_table,
)
from anonymization.engines import BlankSpacyNlpEngine, NoContextEnhancer
from anonymization.text import WARM_UP_TEXT
from simulations.bench_pii import DATA
from simulations.bench_pii_real import distinct_texts

from .conftest import KEY_A

needs_fork = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this system"
)
TEXTS = [
    "Call Anna Smith on 415-555-2671 about order 17",
    "nothing personal here",
    "",
    "Mail anna.smith@example.com or visit www.example.com",
    "Call Anna Smith on 415-555-2671 about order 17",
    WARM_UP_TEXT,
]
RECORD = RecordIdentifiers.from_kinds({"customer_id": ["00017"], "name": ["Anna Smith"]})


@pytest.fixture(scope="module")
def many_rows() -> pd.DataFrame:
    """700 rows, one customer each: enough texts for two workers."""
    events = pd.DataFrame(
        {
            "customer_id": [f"{i:05d}" for i in range(700)],
            "timestamp": pd.Timestamp("1997-03-01"),
            "quantity": 1.0,
            "amount": 10.0,
        }
    )
    table = make_pii_events(events, seed=3)
    # Distinct texts that reach every recognizer: the notes, each followed by its own name.
    table["note"] = table["note"] + " Regards, " + table["name"] + "."
    return table


def _records(table: pd.DataFrame) -> list[RecordIdentifiers | None]:
    return [
        RecordIdentifiers.from_kinds({"customer_id": [c], "name": [n], "phone": [p]})
        for c, n, p in zip(table["customer_id"], table["name"], table["phone"], strict=True)
    ]


def test_pseudonymize_many_equals_one_text_at_a_time(pseudonymizer: Pseudonymizer) -> None:
    records = [RECORD, None, None, RECORD, None, RECORD]
    fresh = TextEngine(offline_analyzer(), prefilter=True, cache_size=0)

    batched = fresh.pseudonymize_many(TEXTS, pseudonymizer, records=records)

    engine = pseudonymizer.engine
    assert batched == [
        engine.pseudonymize(text, pseudonymizer, record=record)
        for text, record in zip(TEXTS, records, strict=True)
    ]
    assert "Anna" not in batched[0] and batched[0] == batched[4]


def test_analyze_many_equals_analyze(engine: TextEngine) -> None:
    records = [None, None, None, RECORD, RECORD, None]

    batched = engine.analyze_many(TEXTS, records=records)

    assert batched == [
        engine.analyze(text, record=record) for text, record in zip(TEXTS, records, strict=True)
    ]


def test_records_must_pair_with_texts(engine: TextEngine, pseudonymizer: Pseudonymizer) -> None:
    with pytest.raises(ValueError, match="got 2 texts but 1 records"):
        engine.pseudonymize_many(["a", "b"], pseudonymizer, records=[None])


def test_progress_counts_every_text(pseudonymizer: Pseudonymizer) -> None:
    done: list[int] = []
    fresh = TextEngine(offline_analyzer(), prefilter=True)

    fresh.pseudonymize_many(TEXTS, pseudonymizer, progress=done.append)

    assert sum(done) == len(TEXTS)


def _assert_same_findings_with_tokens(texts: list[str]) -> None:
    offline = offline_analyzer()
    tokenizing = AnalyzerEngine(
        nlp_engine=BlankSpacyNlpEngine(),
        registry=offline.registry,
        supported_languages=["en"],
        context_aware_enhancer=NoContextEnhancer(),
    )
    for text in filter(None, texts):
        plain = [(r.entity_type, r.start, r.end, r.score) for r in offline.analyze(text, "en")]
        tokens = [(r.entity_type, r.start, r.end, r.score) for r in tokenizing.analyze(text, "en")]
        assert plain == tokens


def test_offline_default_finds_what_a_tokenizing_pipeline_finds() -> None:
    _assert_same_findings_with_tokens([*TEXTS, *make_pii_events(_events(), seed=4)["note"]])


@pytest.mark.skipif(not DATA.is_file(), reason="../shared/data/pii dataset not present")
def test_offline_default_finds_on_real_text_what_a_tokenizing_pipeline_finds() -> None:
    _assert_same_findings_with_tokens(distinct_texts(DATA))


def _events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [f"{i:05d}" for i in range(40)],
            "timestamp": pd.Timestamp("1997-03-01"),
            "quantity": 1.0,
            "amount": 10.0,
        }
    )


def test_blank_pipeline_batch_equals_one_at_a_time() -> None:
    nlp_engine = BlankSpacyNlpEngine()
    nlp_engine.load()

    batch = list(nlp_engine.process_batch(["Anna called", "Bob's card"], "en"))

    for text, artifacts in batch:
        single = nlp_engine.process_text(text, "en")
        assert [t.text for t in artifacts.tokens] == [t.text for t in single.tokens]
        assert artifacts.lemmas == single.lemmas


@needs_fork
def test_two_workers_give_the_same_texts_in_order(many_rows: pd.DataFrame) -> None:
    texts = many_rows["note"].tolist()
    records = _records(many_rows)
    one = Pseudonymizer(KEY_A, engine=TextEngine(offline_analyzer(), prefilter=True))
    two = Pseudonymizer(KEY_A, engine=TextEngine(offline_analyzer(), prefilter=True))

    assert parallel.worker_count(len(texts), 2) == 2
    assert two.pseudonymize_texts(texts, records=records, workers=2) == one.pseudonymize_texts(
        texts, records=records
    )


@needs_fork
def test_two_workers_pseudonymize_a_table_alike(many_rows: pd.DataFrame) -> None:
    schema = pii_schema()
    one = Pseudonymizer(KEY_A, engine=TextEngine(offline_analyzer(), prefilter=True))
    two = Pseudonymizer(KEY_A, engine=TextEngine(offline_analyzer(), prefilter=True))

    expected = pseudonymize_table(many_rows, schema, one)
    result = pseudonymize_table(many_rows, schema, two, workers=2)

    pd.testing.assert_frame_equal(result, expected)
    assert not result["note"].str.contains("Regards, " + many_rows["name"].iloc[0]).any()


def _die(chunk: list[parallel.Item]) -> list[str]:
    os._exit(3)


@needs_fork
def test_a_dead_worker_leaves_the_work_to_this_process(
    many_rows: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    texts = many_rows["note"].tolist()
    expected = Pseudonymizer(KEY_A, engine=TextEngine(offline_analyzer())).pseudonymize_texts(texts)
    monkeypatch.setattr(parallel, "_pseudonymize_chunk", _die)
    engine = TextEngine(offline_analyzer(), prefilter=True)

    result = Pseudonymizer(KEY_A, engine=engine).pseudonymize_texts(texts, workers=2)

    assert result == expected
    assert "worker died" in caplog.text


@pytest.mark.slow
def test_offline_start_imports_no_torch() -> None:
    probe = (
        "import sys\n"
        "from anonymization.startup import import_offline_default\n"
        "import_offline_default()\n"
        "from anonymization import Pseudonymizer\n"
        "out = Pseudonymizer(bytes(32)).pseudonymize_text('Call Anna Smith on 415-555-2671')\n"
        "print('torch' in sys.modules, 'Anna' in out, sys.modules.get('torch', 0) is None)\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": root}
    env.pop("PRESIDIO_DEVICE", None)

    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )

    assert result.stdout.split() == ["False", "False", "False"]
