"""Data commitments: inclusion and non-inclusion proofs verify; tampered proofs fail."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anonymization import (
    CommitmentError,
    CommittedSet,
    MembershipProof,
    Pseudonymizer,
    data_commitment,
    prove_membership,
    verify_membership,
)

from .conftest import KEY_A

MEMBERS = [Pseudonymizer(KEY_A).pseudonym(str(i)) for i in range(7)]
SORTED = sorted(MEMBERS)


def between(low: str, high: str) -> str:
    """A 32-hex-character string strictly between two sorted pseudonyms, absent from the set."""
    value = int(low, 16) + 1
    assert value < int(high, 16)
    return f"{value:032x}"


def test_commitment_ignores_order_and_duplicates() -> None:
    assert data_commitment(MEMBERS) == data_commitment(reversed(MEMBERS + MEMBERS[:3]))


def test_commitment_of_one_leaf_is_its_rfc6962_leaf_hash() -> None:
    commitment = data_commitment(["ab"])

    assert commitment.tree_size == 1
    assert commitment.root == hashlib.sha256(b"\x00ab").digest()


def test_commitment_of_nothing_is_the_empty_root() -> None:
    assert data_commitment([]).root == hashlib.sha256(b"").digest()


def test_every_member_has_a_verifying_inclusion_proof() -> None:
    committed = CommittedSet(MEMBERS)

    for pseudonym in MEMBERS:
        assert verify_membership(committed.commitment, committed.prove(pseudonym)) is True


@pytest.mark.parametrize(
    "absent",
    [
        "0" * 32,
        "f" * 32,
        between(SORTED[2], SORTED[3]),
    ],
    ids=["below-all", "above-all", "between"],
)
def test_absent_pseudonym_has_a_verifying_non_inclusion_proof(absent: str) -> None:
    proof = prove_membership(MEMBERS, absent)

    assert not proof.is_member
    assert verify_membership(data_commitment(MEMBERS), proof) is False


def test_non_inclusion_in_the_empty_set() -> None:
    assert verify_membership(data_commitment([]), prove_membership([], "ab")) is False


@settings(max_examples=40, deadline=None)
@given(
    members=st.sets(st.text("0123456789abcdef", min_size=4, max_size=4), max_size=40),
    probe=st.text("0123456789abcdef", min_size=4, max_size=4),
)
def test_proofs_verify_for_any_set_and_probe(members: set[str], probe: str) -> None:
    committed = CommittedSet(members)

    proof = committed.prove(probe)

    assert verify_membership(committed.commitment, proof) is (probe in members)


def flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 0x01]) + value[1:]


MEMBER_PROOF = prove_membership(MEMBERS, SORTED[3])
ABSENT = between(SORTED[2], SORTED[3])
ABSENT_PROOF = prove_membership(MEMBERS, ABSENT)
assert MEMBER_PROOF.member and ABSENT_PROOF.left and ABSENT_PROOF.right
LEAF = MEMBER_PROOF.member
LEFT, RIGHT = ABSENT_PROOF.left, ABSENT_PROOF.right

TAMPERED: dict[str, tuple[MembershipProof, str]] = {
    "flipped bit in a proof hash": (
        dataclasses.replace(
            MEMBER_PROOF,
            member=dataclasses.replace(LEAF, proof=(flip(LEAF.proof[0]), *LEAF.proof[1:])),
        ),
        "leads to another root",
    ),
    "wrong index": (
        dataclasses.replace(MEMBER_PROOF, member=dataclasses.replace(LEAF, index=LEAF.index + 1)),
        "member leaf",
    ),
    "truncated proof": (
        dataclasses.replace(MEMBER_PROOF, member=dataclasses.replace(LEAF, proof=LEAF.proof[:-1])),
        "wrong number of hashes",
    ),
    "extra garbage": (
        dataclasses.replace(
            MEMBER_PROOF, member=dataclasses.replace(LEAF, proof=(*LEAF.proof, bytes(32)))
        ),
        "wrong number of hashes",
    ),
    "claims membership of an absent pseudonym": (
        dataclasses.replace(MEMBER_PROOF, pseudonym=ABSENT),
        "membership proof is for another leaf",
    ),
    "wrong tree size": (
        dataclasses.replace(MEMBER_PROOF, tree_size=len(MEMBERS) + 1),
        "proof is for another tree size",
    ),
    "neighbours swapped": (
        dataclasses.replace(ABSENT_PROOF, left=RIGHT, right=LEFT),
        "does not sort below",
    ),
    "neighbours not adjacent": (
        dataclasses.replace(ABSENT_PROOF, left=prove_membership(MEMBERS, SORTED[1]).member),
        "neighbours are not adjacent",
    ),
    "right neighbour missing in the middle": (
        dataclasses.replace(ABSENT_PROOF, right=None),
        "the left one must be the last leaf",
    ),
    "non-membership of a member": (
        dataclasses.replace(ABSENT_PROOF, pseudonym=SORTED[3]),
        "does not sort above",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_tampered_proof_fails(case: str) -> None:
    proof, message = TAMPERED[case]

    with pytest.raises(CommitmentError, match=message):
        verify_membership(data_commitment(MEMBERS), proof)


def test_root_mismatch_reports_expected_and_computed() -> None:
    proof, _ = TAMPERED["flipped bit in a proof hash"]
    commitment = data_commitment(MEMBERS)

    with pytest.raises(CommitmentError) as caught:
        verify_membership(commitment, proof)

    assert caught.value.expected == commitment.root.hex()
    assert caught.value.computed and caught.value.computed != caught.value.expected


def test_proofs_survive_a_json_round_trip() -> None:
    for proof in (MEMBER_PROOF, ABSENT_PROOF):
        assert MembershipProof.from_dict(proof.to_dict()) == proof
