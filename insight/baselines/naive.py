"""The naive run-rate forecast: the calibration repeat rate carried forward."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["naive_rate"]


def naive_rate(x: npt.ArrayLike, T: npt.ArrayLike, t: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Expected purchases in the next ``t`` weeks as ``x / T * t``.

    ``x`` repeat purchases over ``T`` weeks of observation; a customer with ``T == 0`` (first
    purchase on the last calibration day) has no observed rate and is forecast 0.
    """
    xs, Ts, ts = np.broadcast_arrays(
        np.asarray(x, dtype=np.float64),
        np.asarray(T, dtype=np.float64),
        np.asarray(t, dtype=np.float64),
    )
    if (Ts < 0).any() or (xs < 0).any() or (ts < 0).any():
        raise ValueError("x, T and t must be >= 0")
    safe_T = np.where(Ts > 0, Ts, 1.0)
    forecast: npt.NDArray[np.float64] = np.where(Ts > 0, xs / safe_T * ts, 0.0)
    return forecast
