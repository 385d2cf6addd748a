"""Proof generation and verification: properties over all shapes, and a corpus of broken
proofs (after transparency-dev/merkle's) that must all fail."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import (
    EMPTY_ROOT,
    MerkleLog,
    RootMismatchError,
    VerificationError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from audit.merkle.proof_shape import (
    consistency_proof_length,
    consistency_ranges,
    inclusion_nodes,
    inclusion_proof_length,
    inclusion_ranges,
    range_nodes,
)

MAX = 300
LOG = MerkleLog()
LOG.extend(b"leaf %d" % i for i in range(MAX))


@st.composite
def index_and_size(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, MAX))
    return draw(st.integers(0, size - 1)), size


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    size2 = draw(st.integers(0, MAX))
    return draw(st.integers(0, size2)), size2


@given(index_and_size())
def test_inclusion_proof_verifies_for_every_index_and_size(case: tuple[int, int]) -> None:
    index, size = case
    proof = LOG.inclusion_proof(index, size)

    verify_inclusion(leaf_hash(b"leaf %d" % index), index, size, proof, LOG.root(size))
    assert len(proof) == inclusion_proof_length(index, size)


@given(two_sizes())
def test_consistency_proof_verifies_for_every_pair_of_sizes(case: tuple[int, int]) -> None:
    size1, size2 = case
    proof = LOG.consistency_proof(size1, size2)

    verify_consistency(size1, size2, proof, LOG.root(size1), LOG.root(size2))
    assert len(proof) == consistency_proof_length(size1, size2)


@given(index_and_size())
def test_level_by_level_inclusion_nodes_equal_the_rfc_recursion(case: tuple[int, int]) -> None:
    index, size = case
    expected = [range_nodes(start, end) for start, end in inclusion_ranges(index, size)]

    assert inclusion_nodes(index, size) == expected


def test_consistency_ranges_are_empty_for_trivial_pairs() -> None:
    assert consistency_ranges(0, 5) == []
    assert consistency_ranges(5, 5) == []


def _flip(proof: list[bytes], position: int, bit: int) -> list[bytes]:
    broken = list(proof)
    element = bytearray(broken[position])
    element[bit // 8] ^= 1 << (bit % 8)
    broken[position] = bytes(element)
    return broken


def _broken_proofs(proof: list[bytes]) -> dict[str, list[bytes]]:
    cases = {
        f"bit {bit} of element {n} flipped": _flip(proof, n, bit)
        for n in range(len(proof))
        for bit in (0, 129, 255)
    }
    cases["empty"] = []
    cases["truncated"] = proof[:-1]
    cases["one element extra"] = [*proof, proof[-1]]
    cases["garbage before"] = [b"\x00" * 32, *proof]
    cases["garbage after"] = [*proof, b"\xff" * 32]
    cases["reversed"] = proof[::-1]
    cases["short element"] = [proof[0][:31], *proof[1:]]
    return {name: case for name, case in cases.items() if case != proof}


@pytest.mark.parametrize(("index", "size"), [(0, 8), (5, 8), (6, 7), (2, 3), (12, 13), (31, 100)])
def test_every_broken_inclusion_proof_fails(index: int, size: int) -> None:
    proof = LOG.inclusion_proof(index, size)
    root, leaf = LOG.root(size), leaf_hash(b"leaf %d" % index)
    attempts: dict[str, Callable[[], None]] = {
        name: partial(verify_inclusion, leaf, index, size, p, root)
        for name, p in _broken_proofs(proof).items()
    }
    attempts["wrong index"] = lambda: verify_inclusion(leaf, index ^ 1, size, proof, root)
    attempts["wrong size"] = lambda: verify_inclusion(
        leaf, index, size + 1, proof, LOG.root(size + 1)
    )
    attempts["size too small"] = lambda: verify_inclusion(leaf, index, index, proof, root)
    attempts["wrong leaf"] = lambda: verify_inclusion(leaf_hash(b"x"), index, size, proof, root)
    attempts["wrong root"] = lambda: verify_inclusion(leaf, index, size, proof, EMPTY_ROOT)

    for name, attempt in attempts.items():
        with pytest.raises(VerificationError):
            attempt()
            pytest.fail(f"broken inclusion proof accepted: {name}")


@pytest.mark.parametrize(
    ("size1", "size2"), [(1, 8), (6, 8), (2, 5), (3, 7), (7, 8), (4, 100), (37, 300)]
)
def test_every_broken_consistency_proof_fails(size1: int, size2: int) -> None:
    proof = LOG.consistency_proof(size1, size2)
    root1, root2 = LOG.root(size1), LOG.root(size2)
    attempts: dict[str, Callable[[], None]] = {
        name: partial(verify_consistency, size1, size2, p, root1, root2)
        for name, p in _broken_proofs(proof).items()
    }
    attempts["wrong first size"] = lambda: verify_consistency(
        size1 + 1, size2, proof, LOG.root(size1 + 1), root2
    )
    attempts["wrong second size"] = lambda: verify_consistency(
        size1, size2 - 1, proof, root1, LOG.root(size2 - 1)
    )
    attempts["swapped roots"] = lambda: verify_consistency(size1, size2, proof, root2, root1)
    attempts["sizes reversed"] = lambda: verify_consistency(size2, size1, proof, root2, root1)

    for name, attempt in attempts.items():
        with pytest.raises(VerificationError):
            attempt()
            pytest.fail(f"broken consistency proof accepted: {name}")


def test_mismatch_error_carries_expected_and_computed_roots() -> None:
    proof = _flip(LOG.inclusion_proof(3, 8), 0, 0)

    with pytest.raises(VerificationError) as caught:
        verify_inclusion(leaf_hash(b"leaf 3"), 3, 8, proof, LOG.root(8))

    assert caught.value.expected == LOG.root(8)
    assert isinstance(caught.value.computed, bytes) and caught.value.computed != LOG.root(8)
    assert LOG.root(8).hex() in str(caught.value)


def test_inclusion_root_mismatch_is_typed_and_carries_both_roots() -> None:
    proof = _flip(LOG.inclusion_proof(3, 8), 1, 7)

    with pytest.raises(RootMismatchError) as caught:
        verify_inclusion(leaf_hash(b"leaf 3"), 3, 8, proof, LOG.root(8))

    error = caught.value
    assert isinstance(error, VerificationError)
    assert error.expected == LOG.root(8)
    assert len(error.computed) == 32 and error.computed != LOG.root(8)
    assert error.expected.hex() in str(error) and error.computed.hex() in str(error)


def test_consistency_root_mismatch_computes_the_true_roots() -> None:
    proof = LOG.consistency_proof(3, 7)

    with pytest.raises(RootMismatchError) as second:
        verify_consistency(3, 7, proof, LOG.root(3), LOG.root(6))
    with pytest.raises(RootMismatchError) as first:
        verify_consistency(3, 7, proof, LOG.root(2), LOG.root(7))
    with pytest.raises(RootMismatchError) as equal:
        verify_consistency(5, 5, [], LOG.root(5), LOG.root(6))

    assert (second.value.expected, second.value.computed) == (LOG.root(6), LOG.root(7))
    assert (first.value.expected, first.value.computed) == (LOG.root(2), LOG.root(3))
    assert (equal.value.expected, equal.value.computed) == (LOG.root(6), LOG.root(5))
    assert f"expected {LOG.root(6).hex()}, computed {LOG.root(7).hex()}" in str(second.value)


def test_a_malformed_proof_is_not_a_root_mismatch() -> None:
    with pytest.raises(VerificationError) as caught:
        verify_inclusion(leaf_hash(b"leaf 0"), 0, 8, LOG.inclusion_proof(0, 8)[:2], LOG.root(8))

    assert not isinstance(caught.value, RootMismatchError)


def test_wrong_length_error_names_both_lengths() -> None:
    with pytest.raises(VerificationError) as caught:
        verify_inclusion(leaf_hash(b"leaf 0"), 0, 8, LOG.inclusion_proof(0, 8)[:2], LOG.root(8))

    assert (caught.value.expected, caught.value.computed) == (3, 2)


def test_equal_sizes_need_empty_proof_and_equal_roots() -> None:
    verify_consistency(5, 5, [], LOG.root(5), LOG.root(5))
    with pytest.raises(VerificationError):
        verify_consistency(5, 5, [], LOG.root(5), LOG.root(6))
    with pytest.raises(VerificationError):
        verify_consistency(5, 5, [LOG.root(5)], LOG.root(5), LOG.root(5))


def test_empty_tree_is_consistent_with_every_tree_only_under_its_own_root() -> None:
    verify_consistency(0, 9, [], EMPTY_ROOT, LOG.root(9))
    with pytest.raises(VerificationError):
        verify_consistency(0, 9, [], LOG.root(1), LOG.root(9))


@settings(max_examples=50)
@given(index_and_size(), st.integers(0, MAX))
def test_an_inclusion_proof_does_not_verify_at_another_size(
    case: tuple[int, int], other: int
) -> None:
    index, size = case
    if other in (size,) or index >= other:
        return
    proof = LOG.inclusion_proof(index, size)
    with pytest.raises(VerificationError):
        verify_inclusion(leaf_hash(b"leaf %d" % index), index, other, proof, LOG.root(other))
