"""Partner-level (central) DP: the ε of the global models the coordinator released."""

from __future__ import annotations

from typing import Any

from federation import RunSettings


class CentralLedger:
    """Partner-level ε of the released global models under central DP.

    Every partner is in every released average (no sampling amplification), so after ``k``
    releases the Gaussian mechanism with noise multiplier ``z`` has been composed ``k`` times:
    ε = ε_RDP(z, q=1, k) at ``target-delta``. A round that is not released spends nothing.
    """

    def __init__(self, settings: RunSettings) -> None:
        self.settings = settings
        self.releases = 0

    def release(self) -> None:
        if self.settings.central_dp:
            self.releases += 1

    def epsilon(self) -> float | None:
        if not self.settings.central_dp:
            return None
        if self.releases == 0:
            return 0.0
        from privacy import epsilon_for  # Opacus's accountant: imported for central DP only

        return float(
            epsilon_for(
                [(self.settings.central_noise_multiplier, 1.0, self.releases)],
                target_delta=self.settings.target_delta,
                accountant="rdp",
            )
        )

    def record(self, sampled_partners: int) -> dict[str, float | int] | None:
        """The round record's ``central_dp`` after a release: the terms (clipping norm, noise
        multiplier, partners in the average) and the partner-level ε of every release so far
        at ``target-delta``; None without central DP."""
        epsilon = self.epsilon()
        if epsilon is None:
            return None
        return {
            "noise_multiplier": self.settings.central_noise_multiplier,
            "clipping_norm": self.settings.central_clipping_norm,
            "sampled_partners": sampled_partners,
            "releases": self.releases,
            "epsilon": epsilon,
            "delta": self.settings.target_delta,
        }

    def summary(self) -> dict[str, Any]:
        if not self.settings.central_dp:
            return {}
        return {
            "noise_multiplier": self.settings.central_noise_multiplier,
            "clipping_norm": self.settings.central_clipping_norm,
            "releases": self.releases,
            "epsilon": self.epsilon(),
            "delta": self.settings.target_delta,
        }
