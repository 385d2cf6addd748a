"""Test-session hooks shared by every test directory."""

from __future__ import annotations

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``pytest -n N --dist loadgroup`` (``make test``), each test file is one group, so
    its module fixtures are built once, as with ``--dist loadfile``; files that share a
    session fixture name a common group with ``pytest.mark.xdist_group`` instead."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
