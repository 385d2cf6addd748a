"""The verifier's own accountant, partners' signed statements, the ledger chain, and witness
pinning: the parts of the trust policy that need no Flower run."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit import (
    COSIGNATURE_V1,
    NoteSigner,
    RunAuditLog,
    SignatureError,
    VerificationError,
    Witness,
    ledger_link,
    rdp_epsilon,
    sign_statement,
    verify_statement,
)
from audit.run.errors import RecordError
from audit.run.trust import check_epsilons
from privacy import LEDGER_GENESIS, PrivacyLedger, epsilon_for
from tests.audit.runs import sha, start_record

HISTORIES = [
    [(1.1, 0.01, 1000)],
    [(0.8, 0.2, 30), (1.3, 0.05, 100)],
    [(5.0, 1.0, 10)],
    [(0.5, 0.001, 10)],
    [(30.0, 0.1, 5)],
]


@pytest.mark.parametrize("history", HISTORIES)
@pytest.mark.parametrize("delta", [1e-5, 1e-3])
def test_the_closed_form_agrees_with_opacus_within_1e_minus_9(
    history: list[tuple[float, float, int]], delta: float
) -> None:
    ours = rdp_epsilon(history, delta)
    opacus = epsilon_for(history, target_delta=delta, accountant="rdp")

    assert ours == pytest.approx(opacus, rel=1e-9)


def _terms(**override: object) -> dict[str, object]:
    entry = {
        "seq": 1,
        "noise_multiplier": 1.1,
        "sample_rate": 0.01,
        "steps": 1000,
        "delta": 1e-5,
        "accountant": "rdp",
    }
    eps = rdp_epsilon([(1.1, 0.01, 1000)], 1e-5)
    statement: dict[str, object] = {
        "partner": "p0",
        "origin": "coord.test/run",
        "round": 1,
        "update_hash": sha("u"),
        "data_commitment": sha("d"),
        "noise_multiplier": 1.1,
        "sample_rate": 0.01,
        "steps": 1000,
        "delta": 1e-5,
        "accountant": "rdp",
        "epsilon": eps,
        "epsilon_cumulative": eps,
        "epsilon_budget": 8.0,
        "ledger_seq": 1,
        "ledger_prev": LEDGER_GENESIS,
        "ledger_head": ledger_link(LEDGER_GENESIS, entry),
        "charges": [],
    }
    statement.update(override)
    return statement


def test_a_signed_statement_verifies_and_a_changed_one_does_not() -> None:
    key = NoteSigner.generate("w.test/p0", COSIGNATURE_V1)
    signed = sign_statement(key, _terms())
    changed = {**signed, "statement": {**signed["statement"], "epsilon_cumulative": 0.1}}

    assert verify_statement(signed, key.verifier, "s")["partner"] == "p0"
    with pytest.raises(SignatureError, match="does not verify"):
        verify_statement(changed, key.verifier, "s")


@pytest.mark.parametrize(
    ("override", "wanted"),
    [
        ({"epsilon": float("nan")}, "finite"),
        ({"data_commitment": ""}, "data_commitment"),
        ({"epsilon_cumulative": 9.0}, "exceeds the budget"),
        ({"ledger_head": sha("x")}, "chain link"),
        ({"charges": [{"seq": 1}]}, "charges"),
    ],
)
def test_a_malformed_statement_is_refused_before_signing(
    override: dict[str, object], wanted: str
) -> None:
    key = NoteSigner.generate("w.test/p0", COSIGNATURE_V1)

    with pytest.raises(RecordError, match=wanted):
        sign_statement(key, _terms(**override))


def test_an_epsilon_below_its_terms_fails_and_the_honest_one_passes() -> None:
    honest = _terms()
    low = _terms(epsilon=float(honest["epsilon"]) / 2)  # type: ignore[arg-type]

    assert check_epsilons([(1, "p0", honest)])["p0"].gap == 0.0
    with pytest.raises(VerificationError, match="below"):
        check_epsilons([(1, "p0", low)])


def test_the_partner_ledger_chain_is_the_one_the_verifier_recomputes(tmp_path: Path) -> None:
    ledger = PrivacyLedger(tmp_path / "privacy.sqlite")
    for rnd in (1, 2):
        ledger.record(
            run_id="run-1",
            round=rnd,
            noise_multiplier=1.1,
            sample_rate=0.01,
            steps=100,
            target_delta=1e-5,
            accountant="rdp",
        )
    head = LEDGER_GENESIS
    for entry in ledger.entries():
        head = ledger_link(
            head,
            {
                "seq": entry.seq,
                "noise_multiplier": entry.noise_multiplier,
                "sample_rate": entry.sample_rate,
                "steps": entry.steps,
                "delta": entry.delta,
                "accountant": entry.accountant,
            },
        )

    assert ledger.heads()[-1] == head


def test_a_witness_cosigns_only_its_pinned_origin_and_key(tmp_path: Path) -> None:
    coordinator = NoteSigner.generate("coord.test/run")
    other = NoteSigner.generate("coord.test/run")
    witness = Witness(NoteSigner.generate("w.test/p0", COSIGNATURE_V1), tmp_path / "w.json")
    witness.pin("coord.test/run", coordinator.verifier)
    keys = {"p0": witness.signer}

    with RunAuditLog.create(tmp_path / "run", coordinator) as log:
        first = log.append_record(start_record(keys))
        witness.cosign(first.text(), [])
    with RunAuditLog.create(tmp_path / "fork", coordinator, origin="coord.test/run/v2") as log:
        fork = log.append_record(start_record(keys))
    with RunAuditLog.create(tmp_path / "evil", other) as log:
        evil = log.append_record(start_record(keys))

    with pytest.raises(SignatureError, match="does not follow"):
        witness.cosign(fork.text(), [])
    with pytest.raises(SignatureError):
        witness.cosign(evil.text(), [])
    with pytest.raises(SignatureError, match="re-pin"):
        witness.pin("coord.test/run", other.verifier)


def test_a_central_epsilon_below_its_releases_fails() -> None:
    from audit.run.trust import check_central

    honest = rdp_epsilon([(1.0, 1.0, 3)], 1e-5)
    record = {
        "type": "round",
        "round": 3,
        "central_dp": {
            "noise_multiplier": 1.0,
            "clipping_norm": 1.0,
            "sampled_partners": 3,
            "releases": 3,
            "epsilon": honest,
            "delta": 1e-5,
        },
    }
    check_central([record])
    record["central_dp"]["epsilon"] = honest / 2  # type: ignore[index]

    with pytest.raises(VerificationError, match="central DP"):
        check_central([record])
