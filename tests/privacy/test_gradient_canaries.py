"""Gradient canaries: through the real DP step (clipped, noised, sampled like customers) and the
plain step, scored as the white-box adversary reads them."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from insight.features import WindowSet
from insight.models import CustomerSequenceModel
from insight.training import TrainConfig, train
from privacy import DPConfig, PrivacyConfigError, PrivacyError, round_schedule, train_private
from privacy.canary_audit import epsilon_lower_bound
from privacy.gradient_canaries import (
    CanarySpec,
    GradientCanaries,
    canary_coordinates,
    plain_step_hook,
    sum_round_scores,
)

CONFIG = TrainConfig(epochs=10, batch_size=16, learning_rate=1e-3, seed=3)
DP = DPConfig(noise_multiplier=None, target_epsilon=3.0, max_grad_norm=2.0)  # sigma: per call
SPEC = CanarySpec(included=tuple(i % 2 == 0 for i in range(40)), seed=11)


def test_without_noise_members_score_whole_clipped_gradients_and_others_nothing(
    tiny_windows: WindowSet,
) -> None:
    """Each sampled member adds exactly max_grad_norm (its gradient of 10x that, clipped), so a
    member's score is a whole multiple of max_grad_norm and a non-member's is 0."""
    stats = train_private(
        CustomerSequenceModel(), tiny_windows, CONFIG, DP, noise_multiplier=1e-9, canaries=SPEC
    )
    assert stats.canary_scores is not None
    scores = np.asarray(stats.canary_scores)
    included = np.asarray(SPEC.included)
    times = scores[included] / DP.max_grad_norm
    assert np.allclose(times, np.round(times), atol=1e-3)
    # 40 steps at rate 1/4: about 10 draws each, and every member drawn at least once.
    assert 4 <= times.mean() <= 16 and times.min() >= 1
    assert np.abs(scores[~included]).max() < 1e-3


def test_the_noise_at_a_canary_is_the_step_noise(tiny_windows: WindowSet) -> None:
    """No canary included: each score is the sum of the steps' noise at its coordinate,
    N(0, steps * (sigma * max_grad_norm)^2)."""
    spec = CanarySpec(included=(False,) * 600, seed=5)
    sigma = 1.5
    stats = train_private(
        CustomerSequenceModel(), tiny_windows, CONFIG, DP, noise_multiplier=sigma, canaries=spec
    )
    assert stats.canary_scores is not None
    expected = sigma * DP.max_grad_norm * math.sqrt(stats.steps)
    assert np.std(stats.canary_scores) == pytest.approx(expected, rel=0.15)
    assert abs(np.mean(stats.canary_scores)) < 4 * expected / math.sqrt(600)


def test_the_dp_step_hides_canaries_and_plain_training_exposes_them(
    tiny_windows: WindowSet,
) -> None:
    """The audit can fail: at sigma 4 (a small epsilon) the bound stays at 0; without DP the
    scores separate members exactly and the bound is well above 0."""
    spec = CanarySpec(
        included=tuple(bool(b) for b in np.random.default_rng(1).random(400) < 0.5), seed=9
    )
    included = np.asarray(spec.included)
    private = train_private(
        CustomerSequenceModel(), tiny_windows, CONFIG, DP, noise_multiplier=4.0, canaries=spec
    )
    assert private.canary_scores is not None
    hidden = epsilon_lower_bound(np.asarray(private.canary_scores), included, delta=1e-5)
    assert hidden.epsilon < 1.0

    model = CustomerSequenceModel()
    rate = round_schedule(tiny_windows, CONFIG).sample_rate
    canaries = GradientCanaries(spec, model, sample_rate=rate, generator=torch.Generator())
    train(model, tiny_windows, CONFIG, on_gradients=plain_step_hook(canaries))
    exposed = epsilon_lower_bound(canaries.scores, included, delta=1e-5)
    assert exposed.epsilon > 3.0
    assert canaries.scores[~included].max() < canaries.scores[included].min()


def test_plain_hook_changes_the_gradient_by_the_sampled_canaries_only() -> None:
    model = torch.nn.Linear(4, 3)
    spec = CanarySpec(included=(True, True, False), seed=2, scale=5.0)
    canaries = GradientCanaries(spec, model, sample_rate=1.0, generator=torch.Generator())
    model(torch.ones(2, 4)).sum().backward()
    before = torch.cat([p.grad.reshape(-1) for p in model.parameters()]).clone()
    plain_step_hook(canaries)(2)
    after = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    coords = canary_coordinates(canaries.params, 3, 2)
    moved = torch.nonzero((after - before).abs() > 1e-6).flatten()
    assert sorted(moved.tolist()) == sorted(coords[:2].tolist())
    assert (after - before)[coords[:2]].tolist() == pytest.approx([2.5, 2.5])  # 5 / batch of 2
    assert canaries.scores.tolist() == pytest.approx([5.0, 5.0, 0.0], abs=1e-5)


def test_opacus_engine_refuses_canaries(tiny_windows: WindowSet) -> None:
    dp = dataclasses.replace(DP, engine="opacus")
    with pytest.raises(PrivacyConfigError, match="fedinsight engine"):
        train_private(
            CustomerSequenceModel(), tiny_windows, CONFIG, dp, noise_multiplier=1.0, canaries=SPEC
        )


def test_more_canaries_than_coordinates_is_an_error() -> None:
    with pytest.raises(PrivacyError, match="the model has 15"):
        canary_coordinates(list(torch.nn.Linear(4, 3).parameters()), 16, 0)


def test_spec_round_trip_and_malformed_files(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text(SPEC.to_json())
    assert CanarySpec.read(path) == SPEC
    for body in ("{", '{"format": "x"}', SPEC.to_json().replace("true", '"yes"'), "[]"):
        path.write_text(body)
        with pytest.raises(PrivacyError, match=str(path)):
            CanarySpec.read(path)


def test_round_scores_sum_and_a_wrong_length_is_named() -> None:
    assert sum_round_scores({"1": [1.0, 2.0], "2": [0.5, 0.5]}, 2).tolist() == [1.5, 2.5]
    with pytest.raises(PrivacyError, match="round 2 scored 1 canaries"):
        sum_round_scores({"1": [1.0, 2.0], "2": [0.5]}, 2)
