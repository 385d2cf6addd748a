"""A simulation deals the events to partners in one pass, in the table's order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulations.runner import _by_partner


def test_each_partner_gets_exactly_its_customers_events_in_table_order() -> None:
    rng = np.random.default_rng(3)
    ids = np.array([f"c{i}" for i in range(40)])
    events = pd.DataFrame(
        {"customer_id": rng.choice(ids, size=500), "amount": rng.random(500)},
        index=rng.permutation(1000)[:500],
    )
    partners = {"b": np.sort(ids[:15]), "a": np.sort(ids[15:30])}  # c30..c39: left out

    dealt = dict(_by_partner(events, partners))

    assert list(dealt) == ["b", "a"]
    for name, mine in dealt.items():
        pd.testing.assert_frame_equal(mine, events[events["customer_id"].isin(partners[name])])


def test_a_partner_without_events_gets_an_empty_table() -> None:
    events = pd.DataFrame({"customer_id": ["x", "x", "y"], "amount": [1.0, 2.0, 3.0]})

    dealt = dict(_by_partner(events, {"p": np.array(["x"]), "q": np.array(["z"])}))

    assert dealt["p"]["amount"].tolist() == [1.0, 2.0]
    assert dealt["q"].empty
