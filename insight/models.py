"""The customer-behaviour sequence model.

Built only from layers Opacus computes per-sample gradients for cheaply (Linear, Conv1d,
LayerNorm), so ``privacy/`` wraps it unchanged. The heads do not predict the three targets
directly: they predict the parameters of a small individual-level buying process, from which the
targets follow for any horizon ``h`` (weeks):

- the customer is still active with probability ``pi``;
- while active, purchases arrive as a Poisson process of rate ``lam`` per week;
- activity ends after an exponential time of rate ``mu`` per week;
- each purchase is worth ``spend_per_purchase`` on average.

Then ``E[N(h)] = pi * lam * (1 - exp(-mu h)) / mu`` and
``P(N(h) > 0) = pi * lam / (lam + mu) * (1 - exp(-(lam + mu) h))``. Training windows have shorter
horizons than the holdout; this structure lets the forecast extend to the holdout length in a way
the customer-base literature (Pareto/NBD, BG/NBD) has shown to be sound.

The rate head predicts a correction to the customer's own history: ``log lam = head +
log(1 + x)`` with ``x`` the repeat purchases so far (a static feature), so the expected count
scales with ``1 + x`` and the network learns the rate per unit of history from the customer's
age, recency and sequence. Training windows end earlier than the forecast's cutoff, so the
heaviest buyers at prediction time have more purchases than any customer in training. Without
the offset the network's rate saturated for them: on a validation split inside calibration, a
customer with 38 repeats in 16 weeks got half of BG/NBD's forecast (13.5 against 26.8; 42
actual). On that split (``python -m simulations.validate_rounds --protocol half
--rounds 7 --local-epochs 8``, training seeds 42 and 7) this model's correlation averages 0.585
and 0.574 over rounds 1-7 (BG/NBD: 0.585). The same loop with the model patched gave 0.571 and
0.562 for an offset of ``log((1 + x) / (1 + T))``, which also forecast 27% and 8% too few
purchases in total (``log(1 + x)``: 0.2% too few, 7% too many), and 0.532 (seed 42) for no
offset. The offset has no parameters, so Opacus sees the same layers.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from insight.features import STATIC_FEATURES, STEP_FEATURES

_MIN_RATE = 1e-4
_REPEATS = STATIC_FEATURES.index("log_repeat_count")  # log(1 + x)


@dataclass(frozen=True)
class ModelConfig:
    hidden: int = 32
    kernel_size: int = 3
    num_blocks: int = 2
    dropout: float = 0.0


@dataclass(frozen=True)
class Forecast:
    """Per-customer forecasts for the window's horizon."""

    prob_any: Tensor
    expected_purchases: Tensor
    expected_spend: Tensor


class _ConvBlock(nn.Module):
    def __init__(self, hidden: int, kernel_size: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.conv = nn.Conv1d(hidden, hidden, kernel_size, padding=kernel_size // 2)
        self.act = nn.GELU()

    def forward(self, h: Tensor, mask: Tensor) -> Tensor:
        # h: [B, L, H]; masking before the convolution keeps padding out of real steps.
        z = self.norm(h) * mask
        z = self.conv(z.transpose(1, 2)).transpose(1, 2)
        out: Tensor = h + self.act(z)
        return out


class CustomerSequenceModel(nn.Module):
    """Multi-task model: sequence encoder (Conv1d blocks) + static features -> process params.

    ``forward(seq [B, L, F], mask [B, L], static [B, S])`` returns raw parameters
    [B, 4] = (logit pi, log lam, log mu, log spend_per_purchase), log lam including the
    offset log(1 + repeats); ``forecast`` turns them into targets for horizons ``h`` [B].
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config or ModelConfig()
        hidden = self.config.hidden
        self.embed = nn.Linear(len(STEP_FEATURES), hidden)
        self.blocks = nn.ModuleList(
            _ConvBlock(hidden, self.config.kernel_size) for _ in range(self.config.num_blocks)
        )
        self.static = nn.Linear(len(STATIC_FEATURES), hidden)
        self.trunk = nn.Sequential(
            nn.LayerNorm(3 * hidden),
            nn.Linear(3 * hidden, hidden),
            nn.GELU(),
            nn.Dropout(self.config.dropout),
            nn.Linear(hidden, hidden),
            nn.GELU(),
        )
        self.head = nn.Linear(hidden, 4)
        with torch.no_grad():
            # Start near a plausible customer base: half active, a purchase every ~20 weeks per
            # (1 + repeats so far), a lifetime of ~50 weeks, ~$35 a purchase.
            self.head.weight.mul_(0.1)
            self.head.bias.copy_(torch.tensor([0.0, -3.0, -3.9, 3.5]))

    def forward(self, seq: Tensor, mask: Tensor, static: Tensor) -> Tensor:
        m = mask.unsqueeze(-1).to(seq.dtype)
        h = self.embed(seq)
        for block in self.blocks:
            h = block(h, m)
        denom = m.sum(dim=1).clamp(min=1.0)
        mean_pool = (h * m).sum(dim=1) / denom
        max_pool = (h * m - (1 - m) * 1e4).amax(dim=1)
        z = torch.cat([mean_pool, max_pool, self.static(static)], dim=-1)
        raw: Tensor = self.head(self.trunk(z))
        rate_offset = static[:, _REPEATS]
        zeros = torch.zeros_like(rate_offset)
        out: Tensor = raw + torch.stack([zeros, rate_offset, zeros, zeros], dim=-1)
        return out

    @staticmethod
    def process(params: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The buying process of raw ``params`` [B, 4]: (pi, lam, mu, spend_per_purchase)."""
        pi = torch.sigmoid(params[:, 0])
        lam = torch.exp(params[:, 1].clamp(-12, 4)) + _MIN_RATE
        mu = torch.exp(params[:, 2].clamp(-12, 4)) + _MIN_RATE
        per_purchase = torch.exp(params[:, 3].clamp(-5, 12))
        return pi, lam, mu, per_purchase

    @staticmethod
    def forecast(params: Tensor, horizon: Tensor) -> Forecast:
        pi, lam, mu, per_purchase = CustomerSequenceModel.process(params)
        expected = pi * lam * -torch.expm1(-mu * horizon) / mu
        prob_any = pi * lam / (lam + mu) * -torch.expm1(-(lam + mu) * horizon)
        return Forecast(
            prob_any=prob_any,
            expected_purchases=expected,
            expected_spend=expected * per_purchase,
        )


def architecture_hash(model: CustomerSequenceModel) -> str:
    """sha256 of the architecture (config and parameter names/shapes), not of the weights."""
    shapes = ";".join(f"{k}:{tuple(v.shape)}" for k, v in model.state_dict().items())
    text = f"{type(model).__name__}|{sorted(asdict(model.config).items())}|{shapes}"
    return hashlib.sha256(text.encode()).hexdigest()
