"""RFC 6962 / RFC 9162 Merkle tree hashing with SHA-256.

The leaf and node prefixes (`LEAF_PREFIX` 0x00 and `NODE_PREFIX` 0x01) separate the two hash
domains, so that no leaf can be passed off as an interior node (RFC 9162, section 2.1.1).
"""

from __future__ import annotations

import hashlib

__all__ = ["EMPTY_ROOT", "HASH_SIZE", "LEAF_PREFIX", "NODE_PREFIX", "leaf_hash", "node_hash"]

HASH_SIZE = 32
"""Size in bytes of every hash in the tree."""

LEAF_PREFIX = b"\x00"
"""Domain separator hashed before a leaf's bytes."""

NODE_PREFIX = b"\x01"
"""Domain separator hashed before the two child hashes of an interior node."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root of the empty tree: SHA-256 of the empty string."""


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 6962 leaf hash SHA-256(0x00 || data)."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()
