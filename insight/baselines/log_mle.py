"""Maximum likelihood over the logs of positive parameters, shared by the baselines' fits."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from scipy import optimize

from insight.errors import InsightError

FloatArray = npt.NDArray[np.float64]

# Log-parameters are kept in a box wide enough for any real data set; the box only stops the
# optimiser from wandering into overflow.
LOG_BOUND = 12.0


def minimize_over_logs(
    negative_ll: Callable[[FloatArray], float],
    starts: Sequence[FloatArray],
    *,
    model: str,
) -> tuple[FloatArray, float]:
    """The log-parameters minimising ``negative_ll`` and the minimum.

    L-BFGS-B from each start (clipped into the box), then the best optimum polished with
    Nelder-Mead, kept only if it is no worse.

    Raises:
        InsightError: if no start reaches a finite optimum (``model`` names the fit).
    """
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(starts[0])
    best: optimize.OptimizeResult | None = None
    for start in starts:
        start = np.clip(start, -LOG_BOUND + 1.0, LOG_BOUND - 1.0)
        result = optimize.minimize(negative_ll, start, method="L-BFGS-B", bounds=bounds)
        if np.isfinite(result.fun) and (best is None or result.fun < best.fun):
            best = result
    if best is None:
        raise InsightError(f"{model} fit failed: no starting point reached a finite likelihood")
    # The tolerance on the function is relative: a sum over tens of thousands of customers
    # carries rounding noise far above 1e-10, and with an absolute 1e-10 the polish never
    # converged on large data (a gamma-gamma fit on 40,000 synthetic customers spent 44 s and
    # 19,557 evaluations in it, to move the log-likelihood by 4e-8).
    fatol = max(1e-10, 1e-12 * abs(float(best.fun)))
    polished = optimize.minimize(
        negative_ll,
        best.x,
        method="Nelder-Mead",
        bounds=bounds,
        options={"xatol": 1e-8, "fatol": fatol, "maxiter": 4000},
    )
    if np.isfinite(polished.fun) and polished.fun <= best.fun:
        best = polished
    return np.asarray(best.x, dtype=np.float64), float(best.fun)
