"""The one-run privacy audit's statistics (Steinke, Nasr & Jagielski, NeurIPS 2023).

m canaries are each included in training with probability 1/2, independently (``S_i = +1``
included, ``-1`` not). After training, an auditor who sees only the final model scores every
canary, guesses "member" for the ``k`` highest scores and "non-member" for the ``k`` lowest,
and abstains on the rest: ``r = 2k`` guesses, ``W`` of them correct.

If training is (ε, δ)-DP with respect to each single canary (add/remove), the paper's main
theorem bounds the tail of ``W``: with ``p = e^ε / (1 + e^ε)`` and
``f(v) = P[Binomial(r, p) >= v]``,

    P[W >= v] <= f(v) + 2 m δ · max_{1 <= i <= m} (f(v - i) - f(v)) / i.

So a count of correct guesses ``v`` whose bound is below alpha rejects "(ε, δ)-DP" at level
alpha; the audit's lower bound is the largest ε rejected. Random guesses give ``W ≈ r/2`` and
no ε > 0 is rejected; more correct guesses reject larger ε.

Notes:
    Choosing ``k`` after seeing the scores is a multiple test. Here the candidate guess counts
    are a grid fixed in advance (``GUESS_FRACTIONS`` of m), each is tested at alpha / len(grid)
    (Bonferroni), and the largest ε any of them rejects is reported: the 1 - alpha confidence
    holds for the reported figure, not only for one of the k's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import binom

from privacy.errors import PrivacyError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# Guesses r as fractions of m (k = r/2 on each side), fixed before any score is seen.
GUESS_FRACTIONS = (0.02, 0.05, 0.1, 0.2, 0.4, 1.0)
_EPS_MAX = 50.0  # a search ceiling: far above any ε a finite run of guesses can show


@dataclass(frozen=True)
class GuessResult:
    """The guesses at the ``k`` that gave the reported bound: ``guesses`` = r, ``correct`` = W."""

    epsilon: float
    guesses: int
    correct: int


def tail_bound(correct: int, guesses: int, *, epsilon: float, delta: float, canaries: int) -> float:
    """The paper's upper bound on ``P[W >= correct]`` under (ε, δ)-DP, ``r = guesses``.

    Requires ``0 <= correct <= guesses <= canaries`` and ``delta >= 0``.
    """
    if not 0 <= correct <= guesses <= canaries:
        raise PrivacyError(
            f"need 0 <= correct <= guesses <= canaries, got {correct}, {guesses}, {canaries}"
        )
    if delta < 0:
        raise PrivacyError(f"delta must be >= 0, got {delta}")
    p = 1.0 / (1.0 + math.exp(-epsilon))  # e^ε / (1 + e^ε), stable for large ε

    base = 1.0 if correct <= 0 else float(binom.sf(correct - 1, guesses, p))
    if delta == 0 or correct <= 0:
        return base
    # f(v - i) = 1 once v - i <= 0, where (1 - f(v)) / i falls with i: i <= v suffices.
    steps = np.arange(1, min(correct, canaries) + 1)
    below = np.where(correct - steps > 0, binom.sf(correct - steps - 1, guesses, p), 1.0)
    slack = float(np.max((below - base) / steps))
    return min(1.0, base + 2 * canaries * delta * slack)


def epsilon_from_counts(
    correct: int, guesses: int, *, delta: float, canaries: int, alpha: float
) -> float:
    """The largest ε with ``tail_bound(...) <= alpha``: (ε, δ)-DP is rejected at level alpha for
    every smaller ε. 0.0 when even ε = 0 is not rejected."""
    if guesses == 0:
        return 0.0

    def rejected(eps: float) -> bool:
        b = tail_bound(correct, guesses, epsilon=eps, delta=delta, canaries=canaries)
        return b <= alpha

    if not rejected(0.0):
        return 0.0
    lo, hi = 0.0, _EPS_MAX
    if rejected(hi):
        return hi
    for _ in range(40):  # the bound grows with ε: bisect to ~1e-12 of the ceiling
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if rejected(mid) else (lo, mid)
    return lo


def epsilon_lower_bound(
    scores: FloatArray,
    included: BoolArray,
    *,
    delta: float,
    alpha: float = 0.05,
    fractions: tuple[float, ...] = GUESS_FRACTIONS,
) -> GuessResult:
    """The audit's ε lower bound at confidence ``1 - alpha``, from each canary's score (higher:
    more likely a member) and whether it was included.

    For each ``r = round(fraction * m)`` (even, ``k = r/2``), the top-k are guessed members and
    the bottom-k non-members; each r is tested at ``alpha / len(fractions)``. Ties in scores
    are broken by canary index, which the scores cannot favour.
    """
    scores = np.asarray(scores, dtype=np.float64)
    included = np.asarray(included, dtype=bool)
    m = scores.size
    if included.shape != scores.shape or m < 2:
        raise PrivacyError("need at least two canaries and one inclusion flag per score")
    if not np.all(np.isfinite(scores)):
        raise PrivacyError("canary scores must be finite")
    order = np.argsort(-scores, kind="stable")  # best member guess first
    best = GuessResult(epsilon=0.0, guesses=0, correct=0)
    level = alpha / len(fractions)
    for fraction in fractions:
        k = max(1, round(fraction * m) // 2)
        if 2 * k > m:
            k = m // 2
        top, bottom = order[:k], order[m - k :]
        correct = int(included[top].sum() + (~included[bottom]).sum())
        eps = epsilon_from_counts(correct, 2 * k, delta=delta, canaries=m, alpha=level)
        if eps > best.epsilon or best.guesses == 0:
            best = GuessResult(epsilon=eps, guesses=2 * k, correct=correct)
    return best


def tpr_at_fpr(scores: FloatArray, included: BoolArray, *, fpr: float) -> tuple[float | None, str]:
    """The share of members scoring above a threshold that at most ``fpr`` of the non-members
    exceed (the threshold just above the ``floor(fpr * n)``-th highest non-member score).

    Returns ``(None, reason)`` when there are fewer than ``1 / fpr`` non-members: then no
    threshold has a measured false-positive rate of ``fpr`` other than zero, and a figure would
    be an extrapolation. Else ``(tpr, "")``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    included = np.asarray(included, dtype=bool)
    outsiders = np.sort(scores[~included])[::-1]
    members = scores[included]
    n = outsiders.size
    if n < math.ceil(1 / fpr) or members.size == 0:
        return None, (
            f"{n} non-member canaries resolve a false-positive rate of 1/{n} at best; "
            f"{math.ceil(1 / fpr)} are needed for {fpr:g} (use more canaries)"
        )
    allowed = math.floor(fpr * n)  # false positives the threshold may let through
    threshold = outsiders[allowed]  # members must score strictly above it
    return float(np.mean(members > threshold)), ""
