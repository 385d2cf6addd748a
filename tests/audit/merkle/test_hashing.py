"""Pinned RFC 6962 values: the empty root and the standard eight-leaf test tree."""

from __future__ import annotations

import pytest

from audit import EMPTY_ROOT, MerkleLog, leaf_hash, node_hash, verify_consistency, verify_inclusion

# The eight leaves of the RFC 6962 test tree used by certificate-transparency and
# transparency-dev/merkle, and the published roots of its prefixes.
LEAVES = [
    bytes.fromhex(x)
    for x in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    bytes.fromhex(x)
    for x in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
H = bytes.fromhex
INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CONSISTENCY = {
    (1, 8): INCLUSION[(0, 8)],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}


@pytest.fixture(scope="module")
def tree() -> MerkleLog:
    log = MerkleLog()
    log.extend(LEAVES)
    return log


def test_empty_root_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert MerkleLog().root() == EMPTY_ROOT


def test_leaf_and_node_hashes_use_domain_prefixes() -> None:
    assert leaf_hash(b"") == ROOTS[0]
    assert node_hash(leaf_hash(b""), leaf_hash(b"\x00")) == ROOTS[1]


@pytest.mark.parametrize("size", range(1, 9))
def test_prefix_roots_match_published_values(tree: MerkleLog, size: int) -> None:
    assert tree.root(size) == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size"), sorted(INCLUSION))
def test_inclusion_proofs_match_published_values(tree: MerkleLog, index: int, size: int) -> None:
    proof = tree.inclusion_proof(index, size)

    assert [p.hex() for p in proof] == INCLUSION[(index, size)]
    verify_inclusion(leaf_hash(LEAVES[index]), index, size, proof, ROOTS[size - 1])


@pytest.mark.parametrize(("size1", "size2"), sorted(CONSISTENCY))
def test_consistency_proofs_match_published_values(tree: MerkleLog, size1: int, size2: int) -> None:
    proof = tree.consistency_proof(size1, size2)

    assert [p.hex() for p in proof] == CONSISTENCY[(size1, size2)]
    verify_consistency(size1, size2, proof, ROOTS[size1 - 1], ROOTS[size2 - 1])


def test_published_proofs_verify_from_hex_alone() -> None:
    verify_consistency(2, 5, [H(x) for x in CONSISTENCY[(2, 5)]], ROOTS[1], ROOTS[4])
