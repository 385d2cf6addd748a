"""The one mapping from a run's settings to its differential-privacy terms.

A partner trains under these terms (``DPTerms.config``, with its own ε budget) and the
coordinator states them in the run-start record of the audit log (``DPTerms.record``); both
come from ``dp_terms``, so what is logged is what is trained. An accountant ``privacy`` does not
know is an error, never a silent fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from federation.errors import SettingsError
from privacy.config import ACCOUNTANTS, Accountant, DPConfig

if TYPE_CHECKING:
    from federation.settings import RunSettings

__all__ = [
    "DPTerms",
    "check_accountant",
    "dp_terms",
    "evaluation_history",
    "partner_noise_multiplier",
]

RecordValue = float | int | str


def check_accountant(name: str) -> Accountant:
    """``name`` as a ``privacy`` accountant.

    Raises:
        SettingsError: ``name`` is not one of ``privacy``'s accountants (``rdp``, ``prv``).
    """
    if name not in ACCOUNTANTS:
        raise SettingsError(
            f"run config 'dp-accountant' must be one of {', '.join(map(repr, ACCOUNTANTS))}, "
            f"not {name!r}"
        )
    return cast(Accountant, name)


@dataclass(frozen=True)
class DPTerms:
    """A run's per-customer DP-SGD terms, the same at every partner.

    Attributes:
        enabled: partners train with DP-SGD.
        accountant: the ``privacy`` accountant of every ε.
        max_grad_norm: the per-customer clipping bound.
        target_delta: δ of every ε.
        noise_multiplier: sigma fixed by the run, or None: calibrated from ``target_epsilon``.
        target_epsilon: ε of the whole run when sigma is calibrated; None when sigma is fixed.
    """

    enabled: bool
    accountant: Accountant
    max_grad_norm: float
    target_delta: float
    noise_multiplier: float | None
    target_epsilon: float | None

    def config(self, *, epsilon_budget: float) -> DPConfig:
        """What a partner trains under, with its own ``epsilon_budget``.

        Raises:
            PrivacyConfigError: a term ``privacy.DPConfig`` refuses (e.g. ``target_epsilon``
                above ``epsilon_budget``).
        """
        return DPConfig(
            enabled=self.enabled,
            noise_multiplier=self.noise_multiplier,
            max_grad_norm=self.max_grad_norm,
            target_epsilon=self.target_epsilon,
            target_delta=self.target_delta,
            accountant=self.accountant,
            epsilon_budget=epsilon_budget,
        )

    def record(self) -> dict[str, RecordValue]:
        """The ``dp`` field of the audit log's run-start record: the accountant, δ, the clipping
        bound and either the fixed sigma or the target ε; ``accountant: none`` without DP."""
        if not self.enabled:
            return {"accountant": "none", "target_delta": 0}
        out: dict[str, RecordValue] = {
            "accountant": self.accountant,
            "max_grad_norm": self.max_grad_norm,
            "target_delta": self.target_delta,
        }
        if self.noise_multiplier is not None:
            out["noise_multiplier"] = self.noise_multiplier
        else:
            assert self.target_epsilon is not None
            out["target_epsilon"] = self.target_epsilon
        return out


def dp_terms(settings: RunSettings) -> DPTerms:
    """The DP terms of ``settings``: ``noise-multiplier`` 0 means calibrate sigma from
    ``target-epsilon``; any other sigma is fixed and the target is not used.

    Raises:
        SettingsError: ``dp-accountant`` is not one of ``privacy``'s accountants.
    """
    fixed = settings.noise_multiplier or None
    return DPTerms(
        enabled=settings.dp,
        accountant=check_accountant(settings.dp_accountant),
        max_grad_norm=settings.max_grad_norm,
        target_delta=settings.target_delta,
        noise_multiplier=fixed,
        target_epsilon=None if fixed else settings.target_epsilon,
    )


def partner_noise_multiplier(settings: RunSettings, num_customers: int) -> float:
    """The sigma a partner with ``num_customers`` customers with a training window trains under.

    A fixed ``noise-multiplier``, or the one calibrated so that the whole run (every round's
    ``privacy.RoundSchedule`` steps), composed with the run's ``planned_evaluations`` charged
    evaluations (Gaussian, ``evaluation-noise-multiplier``, ``privacy.evaluation``), spends
    ``target-epsilon``: the partner trains with it (``client_node.task``) and shows it when it
    approves the run's manifest.

    Raises:
        PrivacyConfigError: no customer, or no sigma reaches ``target-epsilon``.
    """
    terms = dp_terms(settings)
    if terms.noise_multiplier is not None:
        return terms.noise_multiplier
    assert terms.target_epsilon is not None
    from privacy.accounting import calibrate_noise  # Opacus's accountants: loaded when needed
    from privacy.training import RoundSchedule  # torch: loaded when needed

    schedule = RoundSchedule.for_customers(num_customers, settings.train_config(seed=settings.seed))
    return calibrate_noise(
        target_epsilon=terms.target_epsilon,
        target_delta=terms.target_delta,
        sample_rate=schedule.sample_rate,
        steps=schedule.steps * settings.num_server_rounds,
        accountant=terms.accountant,
        alongside=evaluation_history(settings),
    )


def evaluation_history(settings: RunSettings) -> list[tuple[float, float, int]]:
    """The ledger entries of the run's planned evaluations: each one step of the Gaussian
    mechanism at sample rate 1 (``privacy.evaluation``); none without DP."""
    if not settings.dp:
        return []
    return [(settings.evaluation_noise_multiplier, 1.0, settings.planned_evaluations)]
