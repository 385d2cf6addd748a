"""The order ``make test`` hands test files to its two workers: the longest first.

``make test`` runs ``pytest -n 2 --dist loadfile --no-loadscope-reorder``: each file goes whole
to whichever worker is free, in collection order. In xdist's default order (the files with the
most tests first), the real federations, files of one to eight tests that take a minute to four
each, came late, and one worker ran the last of them while the other had nothing left. Handing
them out first, longest first, lets the hundreds of short files fill in at the end, so both
workers finish within seconds of each other.

``HEAVIEST_FIRST`` lists the files by their time in ``make test`` (``--durations`` and a
per-test timeline, 2026-12-04), longest first. A file missing from it runs after them, in
collection order; a name here that no longer exists is reported by
``tests/test_collection_order.py``.
"""

from __future__ import annotations

import pytest

HEAVIEST_FIRST = (
    "tests/simulations/test_simulate_cli.py",
    "tests/deployment/test_run_progress_e2e.py",
    "tests/deployment/test_deployment_e2e.py",
    "tests/simulations/test_ray_cluster.py",
    "tests/simulations/test_simulate_privacy_audit.py",
    "tests/deployment/test_node_start_e2e.py",
    "tests/simulations/test_bench_scale.py",
    "tests/audit/service/test_officer_page.py",
    "tests/simulations/test_app_failure.py",
    "tests/insight/test_datasets_synthetic.py",
    "tests/simulations/test_simulate_privacy_refusals.py",
    "tests/deployment/test_manifest_terms.py",
)


def file_rank(nodeid: str) -> int:
    """A file's place in ``HEAVIEST_FIRST``; every other file after them, all equal."""
    path = nodeid.split("::", 1)[0]
    try:
        return HEAVIEST_FIRST.index(path)
    except ValueError:
        return len(HEAVIEST_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A stable sort: the tests of a file keep their order, and so do the files not listed.
    items.sort(key=lambda item: file_rank(item.nodeid))
