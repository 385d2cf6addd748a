"""Commitment leaves keyed per round: a customer's leaf changes each round, proofs still verify
for the officer from the partner's opening, and a tampered proof or opening fails."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from anonymization import (
    Commitment,
    CommitmentError,
    LeafOpening,
    MembershipProof,
    Pseudonymizer,
    data_commitment,
    verify_opened_membership,
)
from client_node.commitments import commit, commitment_path, prove_customer
from client_node.node_state import NodeState

CUSTOMERS = [f"cust-{i:03d}" for i in range(40)]
TRAINED = CUSTOMERS[::2]


@pytest.fixture
def state(tmp_path: Path) -> NodeState:
    return NodeState(tmp_path / "node").ensure()


def _pseudonyms(state: NodeState, ids: list[str]) -> list[str]:
    return Pseudonymizer(state.pseudonym_key()).pseudonyms(ids)


def _leaves(state: NodeState, run_id: str, server_round: int) -> list[str]:
    text = commitment_path(state, run_id, server_round).read_text(encoding="utf-8")
    return text.split()


def _officer_check(proof_json: str) -> bool:
    """What a privacy officer does with the proof file: no partner key, one round's opening."""
    data = json.loads(proof_json)
    return verify_opened_membership(
        Commitment.from_dict(data["commitment"]),
        MembershipProof.from_dict(data["proof"]),
        LeafOpening.from_dict(data["opening"]),
    )


def test_the_same_customers_leaves_differ_across_rounds_and_runs(state: NodeState) -> None:
    pseudonyms = _pseudonyms(state, TRAINED)

    roots = {
        commit(state, run, rnd, pseudonyms).root for run, rnd in (("7", 1), ("7", 2), ("8", 1))
    }

    one, two, other_run = _leaves(state, "7", 1), _leaves(state, "7", 2), _leaves(state, "8", 1)
    assert len(roots) == 3
    assert len(one) == len(TRAINED)
    assert set(one).isdisjoint(two) and set(one).isdisjoint(other_run)
    assert set(one).isdisjoint(pseudonyms)  # no bare pseudonym is a leaf


def test_proofs_verify_for_members_and_non_members_from_the_opening(state: NodeState) -> None:
    commit(state, "7", 1, _pseudonyms(state, TRAINED))

    member = prove_customer(state, TRAINED[3], run_id="7", server_round=1, partner="p")
    absent = prove_customer(state, CUSTOMERS[5], run_id="7", server_round=1, partner="p")

    assert member.member is True and absent.member is False
    assert _officer_check(json.dumps(member.to_dict())) is True
    assert _officer_check(json.dumps(absent.to_dict())) is False


def test_non_membership_proofs_of_two_rounds_show_unlinkable_neighbours(state: NodeState) -> None:
    pseudonyms = _pseudonyms(state, TRAINED)
    commit(state, "7", 1, pseudonyms)
    commit(state, "7", 2, pseudonyms)

    shown: list[set[str]] = []
    for rnd in (1, 2):
        proof = prove_customer(state, CUSTOMERS[5], run_id="7", server_round=rnd, partner="p").proof
        shown.append({leaf.pseudonym for leaf in (proof.left, proof.right) if leaf is not None})

    assert shown[0] and shown[1]
    assert shown[0].isdisjoint(shown[1])
    assert shown[0].isdisjoint(pseudonyms) and shown[1].isdisjoint(pseudonyms)


def test_a_tampered_proof_or_opening_fails(state: NodeState) -> None:
    commit(state, "7", 1, _pseudonyms(state, TRAINED))
    commit(state, "7", 2, _pseudonyms(state, TRAINED))
    good = prove_customer(state, TRAINED[3], run_id="7", server_round=1, partner="p")
    round_two = prove_customer(state, TRAINED[3], run_id="7", server_round=2, partner="p")
    assert good.opening is not None and round_two.opening is not None
    other = Pseudonymizer(state.pseudonym_key()).pseudonym(TRAINED[4])
    assert good.proof.member is not None
    flipped = bytes([good.proof.member.proof[0][0] ^ 1]) + good.proof.member.proof[0][1:]
    bad_path = dataclasses.replace(
        good.proof,
        member=dataclasses.replace(
            good.proof.member, proof=(flipped, *good.proof.member.proof[1:])
        ),
    )
    cases = [
        (good.proof, round_two.opening, "opened customer's leaf"),  # another round's key
        (good.proof, LeafOpening(other, good.opening.round_key), "opened customer's leaf"),
        (round_two.proof, round_two.opening, "member leaf"),  # round 2's proof, round 1's root
        (bad_path, good.opening, "member leaf"),
    ]
    for proof, opening, wanted in cases:
        with pytest.raises(CommitmentError, match=wanted):
            verify_opened_membership(good.commitment, proof, opening)


def test_a_round_committed_with_bare_pseudonyms_is_still_proven(state: NodeState) -> None:
    pseudonyms = sorted(set(_pseudonyms(state, TRAINED)))
    path = commitment_path(state, "6", 1).with_suffix(".txt")
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(pseudonyms) + "\n", encoding="utf-8")

    result = prove_customer(state, TRAINED[0], run_id="6", server_round=1, partner="p")

    assert result.member is True and result.opening is None
    assert result.commitment == data_commitment(pseudonyms)
