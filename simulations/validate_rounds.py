"""How many federated rounds, chosen without the holdout: FedAvg curves on a validation split.

    python -m simulations.validate_rounds --rounds 20 --local-epochs 4 [--protocol validation]

An in-process FedAvg of the project's own training code (no Flower, no DP) over the same
partners as ``fedinsight bench federated`` (CDNOW master, 5 partners, dirichlet:1.0), scoring
the global model on all customers after every round. ``--protocol validation`` moves the whole
protocol inside the calibration period (calibration to 1997-06-30, "holdout" 1997-07-01 to
1997-09-30), so the number of rounds can be chosen without looking at the real holdout;
``--protocol half`` splits the calibration period 1:1 as the real protocol splits the data
(calibration to 1997-05-18, "holdout" to 1997-09-30, 19.5 weeks each), the split the model's rate
offset was chosen on; ``--protocol holdout`` is the real one. ``--tail-average K`` scores the
running mean of the global models from round K on instead of the last one.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from federation import RunSettings
from insight import (
    CustomerSequenceModel,
    evaluate_model,
    load_cdnow,
    partition_customers,
    prepare_partner,
    train,
)

PROTOCOLS = {
    "validation": ("1997-06-30", "1997-09-30"),
    "half": ("1997-05-18", "1997-09-30"),
    "holdout": ("1997-09-30", "1998-06-30"),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--local-epochs", type=int, default=4)
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="validation")
    parser.add_argument("--tail-average", type=int, default=0)
    parser.add_argument("--learning-rate", type=float, default=RunSettings().learning_rate)
    parser.add_argument("--seed", type=int, default=RunSettings().seed, help="training seed")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    calibration_end, holdout_end = PROTOCOLS[args.protocol]
    settings = RunSettings(
        local_epochs=args.local_epochs,
        learning_rate=args.learning_rate,
        seed=args.seed,
        dp=False,
        calibration_end=calibration_end,
        holdout_end=holdout_end,
    )
    events = load_cdnow().events
    reference = RunSettings()
    split = partition_customers(
        events,
        reference.split,
        num_partners=5,
        seed=reference.seed,
        calibration_end=reference.calibration_timestamp,
    )  # the benchmark's partners, whichever protocol
    events = events[events["timestamp"] <= settings.holdout_timestamp]
    periods, features = settings.periods(), settings.feature_config()
    partners = [
        prepare_partner(
            name,
            events[events["customer_id"].isin(set(ids))],
            periods=periods,
            features=features,
        )
        for name, ids in split.partners.items()
    ]
    pooled = prepare_partner("all", events, periods=periods, features=features)
    torch.manual_seed(settings.seed)
    model = CustomerSequenceModel()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    mean: dict[str, torch.Tensor] = {}
    print("round  auc     corr    mae_purchases")
    for rnd in range(1, args.rounds + 1):
        states, sizes = [], []
        for data in partners:
            local = CustomerSequenceModel()
            local.load_state_dict(state)
            stats = train(
                local, data.train, settings.train_config(seed=settings.seed * 10_000 + rnd)
            )
            states.append(local.state_dict())
            sizes.append(stats.num_examples)
        weights = np.array(sizes) / sum(sizes)
        state = {k: sum(w * s[k] for w, s in zip(weights, states, strict=True)) for k in state}
        scored = state
        if args.tail_average and rnd >= args.tail_average:
            n = rnd - args.tail_average + 1
            mean = (
                {k: v.clone() for k, v in state.items()}
                if n == 1
                else {k: mean[k] + (state[k] - mean[k]) / n for k in state}
            )
            scored = mean
        model.load_state_dict(scored)
        m = evaluate_model(model, pooled)
        print(
            f"{rnd:5d}  {m['auc_any_repeat']:.4f}  {m['corr_purchases']:.4f}  "
            f"{m['mae_purchases']:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
