"""Defenses against poisoned updates: what may be aggregated, and how robustly.

Two layers, both on the coordinator:

- ``check_update`` screens each partner's update before aggregation: the model's keys, shapes
  and dtypes, finite values, and (optionally) an L2 bound on the update's distance from the
  global model it was trained from;
- ``make_aggregator`` picks the aggregation rule: Flower's ``FedAvg`` (weighted mean),
  ``FedTrimmedAvg`` (coordinate-wise trimmed mean) or ``FedMedian`` (coordinate-wise median).

Under partner-level (central) DP the raw updates are the private values, so nothing derived from
one exactly may be published: ``norm_screen_bound`` turns the norm screen off (central clipping
bounds every update instead; a logged verdict on a raw norm would be one non-private bit per
partner). ``published_update_hashes`` publishes the partners' own salted commitments
(``privacy.update_commitment``) in every run, never a hash of a raw update, which would let
anyone test a guessed data set exactly when the update is deterministic (no local DP).

Notes:
    The norm bound stops a partner from moving the model far in one round; it does not stop a
    partner that stays under the bound every round. The robust aggregators limit what a
    minority of partners can do, but only when enough partners take part: with ``n`` updates
    the trimmed mean cuts ``int(beta * n)`` from each tail (none at all when ``beta * n < 1``)
    and the median of two updates is their mean.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable

import torch
from flwr.app import ArrayRecord, Message
from flwr.serverapp.strategy import FedAvg, FedMedian, FedTrimmedAvg, Strategy

from coordinator.errors import CoordinatorError
from federation import Partner, Record, WireError, unpack_state

__all__ = [
    "AGGREGATORS",
    "check_update",
    "make_aggregator",
    "norm_screen_bound",
    "published_update_hashes",
    "update_norm",
]

AGGREGATORS = ("fedavg", "median", "trimmed-mean")
NO_COMMITMENT = "0" * 64  # the audit record's update hash of a partner that committed to none
_HEX64 = re.compile(r"[0-9a-f]{64}")


def update_norm(state: dict[str, torch.Tensor], global_state: dict[str, torch.Tensor]) -> float:
    """L2 norm of ``state - global_state`` over the floating parameters, computed in float64.

    Requires both to hold the same keys and shapes (``check_update`` checks that first).
    """
    total = 0.0
    for key, tensor in state.items():
        if tensor.is_floating_point():
            diff = tensor.detach().double() - global_state[key].detach().double()
            total += float(diff.square().sum())
    return math.sqrt(total)


def check_update(
    arrays: ArrayRecord,
    reference: dict[str, torch.Tensor],
    *,
    global_state: dict[str, torch.Tensor] | None = None,
    max_update_norm: float = 0.0,
) -> str:
    """Why an update must not be aggregated, or '' when it may.

    ``reference`` gives the model's keys, shapes and dtypes; ``global_state`` is the global model
    the partner was sent this round. An update is refused when its keys differ from the
    reference's, a parameter's shape or dtype differs, a floating value is NaN or infinite, or,
    with ``max_update_norm`` > 0, ``update_norm(update, global_state)`` is above it.

    Raises ValueError when ``max_update_norm`` is negative (or NaN), or positive without a
    ``global_state``: a norm bound that cannot be checked must not pass silently.
    """
    if not max_update_norm >= 0:
        raise ValueError(f"max_update_norm must be >= 0 (0 = off), got {max_update_norm}")
    if max_update_norm > 0 and global_state is None:
        raise ValueError("a positive max_update_norm needs the round's global_state")
    try:
        state = unpack_state(arrays)
    except WireError as exc:
        # Forged Array bytes, a dtype torch has no tensor for, a flat array of another length:
        # refuse, do not crash the round.
        return str(exc)
    missing = sorted(set(reference) - set(state))
    extra = sorted(set(state) - set(reference))
    if missing or extra:
        # Unexpected names come from the partner: counted, never echoed into the logs.
        named = f" ({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''})"
        return (
            f"its parameters do not match the model's: {len(missing)} missing"
            f"{named if missing else ''}, {len(extra)} unexpected"
        )
    for key, tensor in state.items():
        expected = reference[key]
        if tuple(tensor.shape) != tuple(expected.shape):
            return f"parameter {key} has shape {tuple(tensor.shape)}, not {tuple(expected.shape)}"
        if tensor.dtype != expected.dtype:
            return f"parameter {key} has dtype {tensor.dtype}, not {expected.dtype}"
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return f"parameter {key} is not finite"
    if max_update_norm > 0:
        assert global_state is not None
        norm = update_norm(state, global_state)
        if norm > max_update_norm:
            return f"update norm {norm:.3g} is above the bound {max_update_norm:g}"
    return ""


def norm_screen_bound(max_update_norm: float, *, central_dp: bool) -> float:
    """The norm bound ``check_update`` screens with: ``max_update_norm``, or 0 (off) under
    central DP, where the screen would judge a raw update and its logged verdict leak a bit."""
    return 0.0 if central_dp else max_update_norm


def published_update_hashes(updates: Iterable[tuple[str, Message]]) -> dict[str, str]:
    """What the round's audit record states for each ``(partner, reply)``: the partner's salted
    commitment from its reply (``Partner.UPDATE_HASH``, the ``update_hash`` of its signed
    statement; ``NO_COMMITMENT``, 64 zeros, when it sent none or not a hex SHA-256), never a
    hash of the raw update, with or without DP.
    """
    out: dict[str, str] = {}
    for name, msg in updates:
        partner = msg.content.config_records.get(Record.PARTNER)
        given = str(partner.get(Partner.UPDATE_HASH, "")) if partner is not None else ""
        out[name] = given if _HEX64.fullmatch(given) else NO_COMMITMENT
    return out


def make_aggregator(
    kind: str, *, fraction_train: float, weighted_by_key: str, trim_beta: float = 0.2
) -> Strategy:
    """Flower's strategy for ``kind`` (one of ``AGGREGATORS``), sampling as the round loop needs.

    ``weighted_by_key`` weights FedAvg's mean and every kind's train metrics; the median and the
    trimmed mean of the arrays are unweighted. ``trim_beta`` (trimmed-mean only) is the fraction
    cut from each tail, in [0, 0.5).

    Raises CoordinatorError for an unknown ``kind`` or a ``trim_beta`` outside [0, 0.5).

    Notes:
        ``FedMedian`` and ``FedTrimmedAvg`` pop the arrays out of the replies they aggregate:
        after ``aggregate_train`` each reply's ArrayRecord is empty. Hash or copy the updates
        first. Their outputs are not means, so the Gaussian noise of Flower's server-side DP
        wrapper (calibrated to a mean's sensitivity) does not give its stated guarantee over them.
    """
    factories: dict[str, Callable[..., FedAvg]] = {
        "fedavg": FedAvg,
        "median": FedMedian,
        "trimmed-mean": functools.partial(FedTrimmedAvg, beta=trim_beta),
    }
    factory = factories.get(kind)
    if factory is None:
        raise CoordinatorError(
            f"unknown aggregator {kind!r}: use one of {', '.join(repr(k) for k in AGGREGATORS)}"
        )
    if kind == "trimmed-mean" and not 0.0 <= trim_beta < 0.5:
        raise CoordinatorError(f"trim beta must be in [0, 0.5), got {trim_beta}")
    # Sampling minimums are 1: the round loop checks min-partners once, before the first round
    # (Flower's sampler would otherwise wait for partners that refused).
    return factory(
        fraction_train=fraction_train,
        fraction_evaluate=1.0,
        min_train_nodes=1,
        min_evaluate_nodes=1,
        min_available_nodes=1,
        weighted_by_key=weighted_by_key,
    )
