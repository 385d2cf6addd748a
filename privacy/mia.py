"""A loss-threshold membership-inference attack, to measure what a trained model leaks.

The attacker scores each customer by minus the model's loss on them: models fit their training
customers better than others, so members tend to score higher. The ROC AUC of that score over
members versus non-members is 0.5 when the model reveals nothing about membership and 1.0 when it
gives every member away. DP at epsilon bounds this AUC (for any threshold attack) well below 1
for small epsilon; the figure is an empirical check, not a proof.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch

from insight.features import WindowSet
from insight.metrics import roc_auc
from insight.models import CustomerSequenceModel
from insight.training import multitask_loss
from privacy.errors import PrivacyError

FloatArray = npt.NDArray[np.float64]


def membership_inference_auc(
    model: CustomerSequenceModel, members: WindowSet, non_members: WindowSet
) -> float:
    """AUC of ``-loss`` separating ``members`` (trained on) from ``non_members``.

    A customer's loss is ``multitask_loss(..., reduction="none")`` averaged over its valid
    windows. Requires labelled windows and at least one customer with a valid window on each
    side. The model's train/eval mode is restored afterwards.
    """
    member_loss = customer_losses(model, members)
    other_loss = customer_losses(model, non_members)
    if member_loss.size == 0 or other_loss.size == 0:
        raise PrivacyError("membership inference needs customers on both sides")
    scores = -np.concatenate([member_loss, other_loss])
    labels = np.concatenate(
        [np.ones(member_loss.size, dtype=bool), np.zeros(other_loss.size, dtype=bool)]
    )
    return roc_auc(scores, labels)


def customer_losses(
    model: CustomerSequenceModel, windows: WindowSet, batch_size: int = 4096
) -> FloatArray:
    """Mean per-window loss of each customer with a valid window (in ``windows.trainable()``
    order)."""
    if windows.count is None or windows.spend is None:
        raise PrivacyError("membership inference needs labelled windows (build_training_windows)")
    ws = windows.trainable()
    assert ws.count is not None and ws.spend is not None
    rows, cols = np.nonzero(ws.valid)
    fields = (ws.seq, ws.mask, ws.static, ws.horizon, ws.count, ws.spend)
    was_training = model.training
    model.eval()
    try:
        parts = []
        with torch.no_grad():
            for lo in range(0, rows.size, batch_size):
                r, c = rows[lo : lo + batch_size], cols[lo : lo + batch_size]
                batch = tuple(torch.from_numpy(np.ascontiguousarray(f[r, c])) for f in fields)
                parts.append(multitask_loss(model, batch, reduction="none").double().numpy())
    finally:
        model.train(was_training)
    per_window = np.concatenate(parts) if parts else np.zeros(0)
    totals = np.bincount(rows, weights=per_window, minlength=ws.num_customers)
    counts = np.bincount(rows, minlength=ws.num_customers)
    out: FloatArray = totals / np.maximum(counts, 1)
    return out
