"""White-box gradient canaries: the one-run audit of the DP step itself.

The canary customers of ``privacy.canaries`` are read only through the final model, and the
sequence model generalises too well for that to show anything (their audit scores 0 even for an
overfit model trained without DP). These canaries audit the mechanism instead, as the strongest
adversary DP's definition allows (Steinke, Nasr & Jagielski, 2023, section 6's white-box
setting): one who sees every noisy gradient the step releases and knows every other
customer's contribution to it.

- Canary ``i`` is a made-up customer whose gradient is a *Dirac* vector: ``scale *
  max_grad_norm`` at one coordinate of the flattened parameters (its own; drawn without
  replacement from a seed) and 0 elsewhere.
- An included canary is sampled at every step like a customer: independently, with the
  step's sample rate. A sampled canary's gradient goes through the step's own clipping factor
  (``privacy.clipping.clip_scale``; ``scale > 1``, so a clipping that does not clip shows) and
  is added to the sum of the real customers' clipped gradients *before* the noise. An excluded
  canary is never added.
- The canary's score is what the adversary reads at its coordinate: at each step, the noisy
  gradient times the expected batch size minus the real customers' clipped sum, summed over
  the steps. That is the canary's own contribution plus the step's noise at that coordinate.

The ε the partner's ledger records covers every noisy gradient of every step, and a canary is
sampled like any customer, so each canary is protected by the partner's training ε: the lower
bound ``privacy.canary_audit`` draws from these scores must stay at or below it. A noise scale,
sample rate, clipping or step count that does not match the accounting shows as a bound above
the claim. Without DP there is no noise, and the scores separate members exactly.

Canaries are data-independent, so adding them changes no real customer's guarantee; they cost
a little utility (a push of at most ``max_grad_norm`` per sampled canary per step). Only the
partner's own engine takes them (``dp-engine = "opacus"`` refuses them). The scores, like the
step's noise they contain, are as sensitive as the data: they stay on the partner's machine.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor, nn

from privacy.clipping import clip_scale
from privacy.errors import PrivacyError

SPEC_FORMAT = "fedinsight/gradient-canaries/1"
DEFAULT_SCALE = 10.0  # the canary gradient's norm, in units of max_grad_norm, before clipping


@dataclass(frozen=True)
class CanarySpec:
    """A partner's canaries: ``included[i]`` says whether canary ``i`` takes part; ``seed``
    picks their coordinates."""

    included: tuple[bool, ...]
    seed: int
    scale: float = DEFAULT_SCALE

    def to_json(self) -> str:
        body = {
            "format": SPEC_FORMAT,
            "included": list(self.included),
            "seed": self.seed,
            "scale": self.scale,
        }
        return json.dumps(body, sort_keys=True)

    @classmethod
    def read(cls, path: Path) -> CanarySpec:
        """The spec in ``path``; ``PrivacyError`` naming the file when it is not one."""
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            if body.get("format") != SPEC_FORMAT:
                raise ValueError(f"format is not {SPEC_FORMAT}")
            included = body["included"]
            if not isinstance(included, list) or not all(isinstance(b, bool) for b in included):
                raise ValueError("included must be a list of true/false")
            seed, scale = int(body["seed"]), float(body["scale"])
            if not included or not scale > 0:
                raise ValueError("needs at least one canary and a scale > 0")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PrivacyError(f"gradient canary spec {path}: {exc}") from None
        return cls(included=tuple(included), seed=seed, scale=scale)


def canary_coordinates(params: Sequence[Tensor], count: int, seed: int) -> Tensor:
    """``count`` distinct coordinates of the flattened ``params``, drawn from ``seed``."""
    total = sum(int(p.numel()) for p in params)
    if count > total:
        raise PrivacyError(
            f"{count} gradient canaries need as many coordinates; the model has {total}"
        )
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(total, generator=generator)[:count]


def trainable_params(model: nn.Module) -> list[nn.Parameter]:
    """The trainable parameters module by module: the order of ``PerSampleGradients.params``,
    which the DP step's sums follow."""
    return [
        p
        for _, module in model.named_modules()
        for p in module.parameters(recurse=False)
        if p.requires_grad
    ]


class GradientCanaries:
    """The canaries of ``spec`` over ``trainable_params(model)``, sampled at ``sample_rate``
    per step.

    Per step: ``add(sums, ...)`` before the noise (or before the optimiser, without DP), then
    ``observe(grads, batch)``, both over tensors aligned with ``params``; ``scores`` holds each
    canary's running score.
    """

    def __init__(
        self,
        spec: CanarySpec,
        model: nn.Module,
        *,
        sample_rate: float,
        generator: torch.Generator,
    ) -> None:
        self.spec, self.sample_rate, self.generator = spec, sample_rate, generator
        self.params = trainable_params(model)
        self.included = torch.tensor(spec.included, dtype=torch.bool)
        coords = canary_coordinates(self.params, len(spec.included), spec.seed)
        bounds = np.cumsum([0] + [int(p.numel()) for p in self.params])
        # For each parameter: which canaries sit in it, and where in its flattened view.
        self._where: list[tuple[int, Tensor, Tensor]] = []
        for k in range(len(self.params)):
            inside = (coords >= int(bounds[k])) & (coords < int(bounds[k + 1]))
            if inside.any():
                idx = torch.nonzero(inside).flatten()
                self._where.append((k, idx, coords[idx] - int(bounds[k])))
        self.scores = np.zeros(len(spec.included), dtype=np.float64)
        self._before = torch.zeros(len(spec.included), dtype=torch.float64)

    def _read(self, tensors: Sequence[Tensor]) -> Tensor:
        out = torch.zeros(len(self.spec.included), dtype=torch.float64)
        for k, idx, flat in self._where:
            out[idx] = tensors[k].detach().reshape(-1)[flat].to(torch.float64)
        return out

    def add(self, sums: Sequence[Tensor], *, max_grad_norm: float | None) -> None:
        """Add the sampled canaries' gradients to ``sums`` in place: the clipped per-customer
        sum (DP), or the batch's summed gradient (no DP, ``max_grad_norm=None``: unclipped)."""
        self._before = self._read(sums)
        draws = torch.rand(len(self.spec.included), generator=self.generator)
        sampled = self.included & (draws < self.sample_rate)
        if max_grad_norm is None:
            value = self.spec.scale
        else:
            raw = torch.tensor([self.spec.scale * max_grad_norm])
            value = float(raw * clip_scale(raw, max_grad_norm=max_grad_norm))
        with torch.no_grad():
            for k, idx, flat in self._where:
                add = torch.zeros(sums[k].numel(), dtype=sums[k].dtype)
                add.index_add_(0, flat, sampled[idx].to(sums[k].dtype) * value)
                sums[k].add_(add.view(sums[k].shape))  # in place, whatever the strides

    def observe(self, grads: Sequence[Tensor], *, batch: float) -> None:
        """Score the step: ``grads`` (what the optimiser gets) times ``batch`` (the divisor the
        step used), minus the real customers' part read by ``add``."""
        self.scores += (self._read(grads) * batch - self._before).numpy()


def sum_round_scores(rounds: dict[str, list[float]], count: int) -> npt.NDArray[np.float64]:
    """The run's score of each of ``count`` canaries: the sum over the rounds' scores."""
    total = np.zeros(count, dtype=np.float64)
    for name, scores in rounds.items():
        if len(scores) != count:
            raise PrivacyError(f"round {name} scored {len(scores)} canaries, expected {count}")
        total += np.asarray(scores, dtype=np.float64)
    return total


def plain_step_hook(canaries: GradientCanaries) -> Callable[[int], None]:
    """For training without DP (``insight.train``'s ``on_gradients``): after the backward pass
    of a mean loss over ``batch`` customers, add the sampled canaries' unclipped gradients to
    the parameters' gradients, and score the step."""

    def hook(batch: int) -> None:
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in canaries.params]
        sums = [g.detach() * batch for g in grads]
        canaries.add(sums, max_grad_norm=None)
        for param, summed in zip(canaries.params, sums, strict=True):
            param.grad = summed / batch
        canaries.observe([p.grad for p in canaries.params if p.grad is not None], batch=batch)

    return hook
