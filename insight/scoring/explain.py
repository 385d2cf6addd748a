"""Why the model expects what it does: Integrated Gradients (Captum) on expected purchases.

The explained output is the model's expected number of purchases in the horizon,
``f(x) = E[N(h) | x]``. Captum's `IntegratedGradients` attributes ``f(x) - f(x')`` to every
input value along the straight path from a baseline ``x'`` to ``x``; the attributions of a
customer sum to that difference (completeness), up to the integral's numerical error.

Baseline: the partner's *average customer* with the same sequence length. Each static feature
is its mean over the partner's scored customers; each real step of the sequence holds the mean
of that step feature over all real steps; padding stays as it is and the horizon is the
customer's own, so neither gets any attribution. An attribution therefore reads "this much of
the difference between this customer and an average customer comes from ...".

The per-value attributions are summed into named groups (`GROUPS`): recency, frequency, tenure,
the gap sequence, amounts and calendar.

Notes:
    Explanations are computed at the partner, on its own data, from a model it already holds:
    no data leaves the node and no privacy budget is spent (post-processing of a DP-trained
    model costs no epsilon).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from insight.features import STATIC_FEATURES, STEP_FEATURES, WindowSet
from insight.models import CustomerSequenceModel

FloatArray = npt.NDArray[np.float64]

GROUPS = ("recency", "frequency", "tenure", "gap sequence", "amounts", "calendar")
STATIC_GROUP = {
    "log_repeat_count": "frequency",
    "log_rate": "frequency",
    "log_t_x": "recency",
    "recency_fraction": "recency",
    "log_weeks_since_last": "recency",
    "log_T": "tenure",
    "log_mean_amount": "amounts",
    "log_horizon": "",  # baseline = the customer's own horizon: no attribution
}
STEP_GROUP = {
    "log_gap_weeks": "gap sequence",
    "log_weeks_before_cutoff": "gap sequence",
    "is_first": "gap sequence",
    "log_amount": "amounts",
    "log_quantity": "amounts",
    "season_sin": "calendar",
    "season_cos": "calendar",
}
# How a marketer reads each group (the customer's ... raises/lowers expected purchases).
GROUP_WORDS = {
    "recency": "time since last purchase",
    "frequency": "number of purchases",
    "tenure": "time as a customer",
    "gap sequence": "rhythm of past purchases",
    "amounts": "amounts bought",
    "calendar": "time of year of past purchases",
}


@dataclass(frozen=True)
class Explanations:
    """``groups`` [N, len(GROUPS)] attributions; ``delta`` [N] the completeness error
    ``sum(attributions) - (f(x) - f(baseline))``; ``output`` [N] f(x)."""

    groups: FloatArray
    delta: FloatArray
    output: FloatArray

    def global_importance(self) -> dict[str, float]:
        """Mean |attribution| per group over the customers."""
        mean = np.abs(self.groups).mean(axis=0) if len(self.groups) else np.zeros(len(GROUPS))
        return {g: float(v) for g, v in zip(GROUPS, mean, strict=True)}


def _group_matrix(names: tuple[str, ...], groups: dict[str, str]) -> Tensor:
    out = torch.zeros(len(names), len(GROUPS), dtype=torch.float64)
    for i, name in enumerate(names):
        if groups[name]:
            out[i, GROUPS.index(groups[name])] = 1.0
    return out


_STEP_MATRIX = _group_matrix(STEP_FEATURES, STEP_GROUP)
_STATIC_MATRIX = _group_matrix(STATIC_FEATURES, STATIC_GROUP)


class AverageCustomer:
    """The baseline's features (module doc), accumulated over chunks of customers."""

    def __init__(self) -> None:
        self._step_sum = torch.zeros(len(STEP_FEATURES), dtype=torch.float64)
        self._steps = 0
        self._static_sum = torch.zeros(len(STATIC_FEATURES), dtype=torch.float64)
        self._customers = 0

    def add(self, windows: WindowSet) -> None:
        mask = torch.from_numpy(windows.mask[:, 0])
        self._step_sum += torch.from_numpy(windows.seq[:, 0])[mask].double().sum(dim=0)
        self._steps += int(mask.sum())
        self._static_sum += torch.from_numpy(windows.static[:, 0]).double().sum(dim=0)
        self._customers += windows.num_customers

    def means(self) -> tuple[Tensor, Tensor]:
        """(mean step features over real steps, mean static features), float32."""
        steps, customers = max(self._steps, 1), max(self._customers, 1)
        return (self._step_sum / steps).float(), (self._static_sum / customers).float()


def explain(
    model: CustomerSequenceModel,
    windows: WindowSet,
    *,
    average: AverageCustomer | None = None,
    steps: tuple[int, ...] = (16, 64, 256),
    tolerance: float = 1e-3,
    batch_size: int = 1024,
) -> Explanations:
    """Group attributions of each customer's expected purchases (first window of ``windows``).

    The baseline is ``average`` (default: the average of ``windows``' own customers). The path
    integral is taken with Gauss-Legendre nodes, ``steps[0]`` of them first; a customer whose
    completeness error exceeds ``tolerance * |f(x)|`` is computed again with the next, larger
    number of steps (the max-pooling and clamps make the integrand kinked for a few
    customers). ``delta`` holds the error of the last computation of each customer.
    Requires prediction windows (one window per customer) and at least one step count.
    """
    if not steps:
        raise ValueError("steps must name at least one number of integration steps")
    if average is None:
        average = AverageCustomer()
        average.add(windows)
    step_mean, static_mean = average.means()
    net = _frozen_copy(model)
    seq = torch.from_numpy(windows.seq[:, 0])
    mask = torch.from_numpy(windows.mask[:, 0])
    static = torch.from_numpy(windows.static[:, 0])
    horizon = torch.from_numpy(windows.horizon[:, 0])
    seq_base = torch.where(mask[..., None], step_mean, seq)
    static_base = static_mean.expand_as(static).clone()
    col = STATIC_FEATURES.index("log_horizon")
    static_base[:, col] = static[:, col]
    inputs = (seq, static, mask, horizon, seq_base, static_base)

    n = windows.num_customers
    groups = np.zeros((n, len(GROUPS)), dtype=np.float64)
    delta = np.zeros(n, dtype=np.float64)
    with torch.no_grad():
        output = net.forecast(net(seq, mask, static), horizon).expected_purchases.double().numpy()
    # Batches of similar length, cut after their longest sequence: padding gets no attribution
    # (its baseline is itself) and the model ignores it, so cutting it only saves time.
    lengths = windows.mask[:, 0].sum(axis=1)
    todo = np.argsort(lengths, kind="stable")
    for n_steps in steps:
        for lo in range(0, len(todo), batch_size):
            rows = torch.from_numpy(todo[lo : lo + batch_size])
            cut = max(1, int(lengths[rows.numpy()].max()))
            batch = [t[rows] for t in inputs]
            for i in (0, 2, 4):  # seq, mask, seq_base
                batch[i] = batch[i][:, :cut]
            g, d = _attribute(net, batch, n_steps)
            groups[rows.numpy()], delta[rows.numpy()] = g, d
        todo = todo[np.abs(delta[todo]) > tolerance * np.abs(output[todo])]
        if not len(todo):
            break
    return Explanations(groups=groups, delta=delta, output=output)


def _attribute(
    net: CustomerSequenceModel, batch: list[Tensor], n_steps: int
) -> tuple[FloatArray, FloatArray]:
    from captum.attr import IntegratedGradients

    seq, static, mask, horizon, seq_base, static_base = batch

    def forward(seq: Tensor, static: Tensor, mask: Tensor, horizon: Tensor) -> Tensor:
        return net.forecast(net(seq, mask, static), horizon).expected_purchases

    (a_seq, a_static), delta = IntegratedGradients(forward).attribute(
        (seq, static),
        baselines=(seq_base, static_base),
        additional_forward_args=(mask, horizon),
        n_steps=n_steps,
        method="gausslegendre",
        return_convergence_delta=True,
    )
    grouped = a_seq.sum(dim=1).double() @ _STEP_MATRIX + a_static.double() @ _STATIC_MATRIX
    return grouped.detach().numpy(), delta.detach().double().numpy()


def _frozen_copy(model: CustomerSequenceModel) -> CustomerSequenceModel:
    net = CustomerSequenceModel(model.config)
    net.load_state_dict(model.state_dict())
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def top_drivers(groups: FloatArray, *, count: int = 3) -> list[str]:
    """Per customer, the ``count`` groups that moved expected purchases most, in words, with
    signs: ``"number of purchases +1.20; time since last purchase -0.35; ..."``."""
    order = np.argsort(-np.abs(groups), axis=1, kind="stable")[:, :count]
    out = []
    for row, idx in zip(groups, order, strict=True):
        parts = [f"{GROUP_WORDS[GROUPS[j]]} {row[j]:+.2f}" for j in idx if abs(row[j]) >= 0.005]
        out.append("; ".join(parts) if parts else "close to the average customer")
    return out
