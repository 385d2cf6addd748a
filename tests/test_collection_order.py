"""The heaviest test files go first to ``make test``'s workers (``tests/conftest.py``)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import HEAVIEST_FIRST, file_rank

ROOT = Path(__file__).resolve().parents[1]


def test_every_file_named_heaviest_exists_once() -> None:
    missing = [name for name in HEAVIEST_FIRST if not (ROOT / name).is_file()]
    assert not missing, f"tests/conftest.py names files that are gone: {missing}"
    assert len(set(HEAVIEST_FIRST)) == len(HEAVIEST_FIRST)


def test_named_files_rank_in_their_order_and_every_other_file_after_them() -> None:
    ranks = [file_rank(f"{name}::test_x") for name in HEAVIEST_FIRST]
    assert ranks == sorted(ranks) == list(range(len(HEAVIEST_FIRST)))
    assert file_rank("tests/audit/test_log.py::test_x") == len(HEAVIEST_FIRST)
    assert file_rank(HEAVIEST_FIRST[0]) == 0  # a bare file id, as well as a test's


def test_make_test_keeps_the_collection_order() -> None:
    # xdist's default reorders files by their number of tests, which undoes the order above.
    recipe = re.search(r"^test:.*\n\t(.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert recipe is not None
    assert "--dist loadfile" in recipe.group(1)
    assert "--no-loadscope-reorder" in recipe.group(1)
