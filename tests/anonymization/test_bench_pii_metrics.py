"""The PII benchmark's measures on hand-made samples (the benchmark prints, never asserts)."""

from __future__ import annotations

import pytest

from simulations.bench_pii import DATA, Sample, evaluate, load_samples

SAMPLE = Sample("Anna Smith met Bob at the old mill", ((0, 10, "PERSON"), (15, 18, "PERSON")))


def test_perfect_detection_leaks_nothing_and_keeps_ordinary_words() -> None:
    result = evaluate([SAMPLE], lambda text: [(0, 10, "PERSON"), (15, 18, "PERSON")])

    person = result["entities"]["PERSON"]
    assert (person["precision"], person["recall"], person["leaked_chars"]) == (1.0, 1.0, 0.0)
    assert result["ordinary_intact"] == 1.0 and result["ordinary_words"] == 5


def test_missed_name_leaks_its_characters() -> None:
    result = evaluate([SAMPLE], lambda text: [(0, 10, "PERSON")])

    person = result["entities"]["PERSON"]
    assert person["recall"] == pytest.approx(2 / 3)
    assert person["leaked_chars"] == pytest.approx(3 / 12)


def test_over_redaction_costs_ordinary_words() -> None:
    result = evaluate(
        [SAMPLE], lambda text: [(0, 10, "PERSON"), (15, 18, "PERSON"), (30, 34, "PERSON")]
    )

    assert result["ordinary_intact"] == pytest.approx(4 / 5)
    assert result["entities"]["PERSON"]["precision"] == pytest.approx(3 / 4)


@pytest.mark.skipif(not DATA.is_file(), reason="../shared/data/pii dataset not present")
def test_dataset_splits_partition_the_records() -> None:
    dev, test = load_samples(DATA, "dev"), load_samples(DATA, "test")

    assert len(dev) + len(test) == len(load_samples(DATA, "all")) == 1500
