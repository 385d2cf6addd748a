"""Fixtures for the privacy tests: small synthetic labelled windows of the project's shapes."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from insight.features import STATIC_FEATURES, STEP_FEATURES, WindowSet


def synthetic_windows(
    num_customers: int,
    *,
    num_windows: int = 3,
    length: int = 8,
    seed: int = 0,
) -> WindowSet:
    """Labelled windows with plausible features; ``static[:, :, 0]`` holds the customer's row
    number so a batch can be traced back to its customers."""
    rng = np.random.default_rng(seed)
    n, k = num_customers, num_windows
    seq = rng.normal(size=(n, k, length, len(STEP_FEATURES))).astype(np.float32)
    steps = rng.integers(1, length + 1, size=(n, k))
    mask = np.arange(length)[None, None, :] < steps[:, :, None]
    static = rng.normal(size=(n, k, len(STATIC_FEATURES))).astype(np.float32)
    static[:, :, 0] = np.arange(n, dtype=np.float32)[:, None]
    count = rng.poisson(1.0, size=(n, k)).astype(np.float32)
    return WindowSet(
        customer_ids=np.array([f"c{i:05d}" for i in range(n)]),
        seq=seq * mask[..., None],
        mask=mask,
        static=static,
        horizon=rng.uniform(4.0, 30.0, size=(n, k)).astype(np.float32),
        valid=np.ones((n, k), dtype=bool),
        count=count,
        spend=(count * rng.uniform(10.0, 60.0, size=(n, k))).astype(np.float32),
    )


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """One intra-op thread, as partner nodes run: on a shared machine a second OpenMP thread
    that has to wait for a core makes these tiny steps up to a hundred times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_windows() -> WindowSet:
    return synthetic_windows(64)
