"""C2SP tlog-checkpoints: the body (origin line, tree size line, base64 root hash line) and
the body signed as a C2SP note (`SignedCheckpoint`)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from audit.merkle.errors import FormatError
from audit.merkle.hashing import HASH_SIZE
from audit.merkle.signed_note import SignedNote, parse_note

__all__ = ["MAX_TREE_SIZE", "Checkpoint", "SignedCheckpoint"]

_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")
MAX_TREE_SIZE = 2**64 - 1
"""Largest tree size a checkpoint may state (C2SP tlog-checkpoint: a uint64)."""


@dataclass(frozen=True)
class Checkpoint:
    """The tree head a log signs: who (origin), how many leaves (tree_size), which root."""

    origin: str
    tree_size: int
    root: bytes

    def __post_init__(self) -> None:
        if not self.origin or any(c.isspace() or c == "+" for c in self.origin):
            raise FormatError(
                f"checkpoint origin {self.origin!r} must be non-empty, without spaces or '+'"
            )
        if not 0 <= self.tree_size <= MAX_TREE_SIZE:
            raise FormatError(f"checkpoint tree size {self.tree_size} is outside 0..2**64-1")
        if len(self.root) != HASH_SIZE:
            raise FormatError(f"checkpoint root has {len(self.root)} bytes, not {HASH_SIZE}")

    @property
    def text(self) -> str:
        """The note text of this checkpoint (three lines, each ending in a newline)."""
        root = base64.b64encode(self.root).decode()
        return f"{self.origin}\n{self.tree_size}\n{root}\n"

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        """Parse checkpoint note text; extension lines are refused (this log writes none)."""
        lines = text.split("\n")
        if len(lines) != 4 or lines[3] != "":
            raise FormatError("a checkpoint is exactly three lines: origin, size, root")
        origin, size, root = lines[:3]
        if not _SIZE.fullmatch(size) or int(size) > MAX_TREE_SIZE:
            raise FormatError(
                f"checkpoint tree size {size[:24]!r} is not a decimal below 2**64 without "
                "leading zeroes"
            )
        try:
            raw = base64.b64decode(root, validate=True)
        except binascii.Error as exc:
            raise FormatError("checkpoint root is not base64") from exc
        if base64.b64encode(raw).decode() != root:
            raise FormatError("checkpoint root is not in canonical base64")
        return cls(origin, int(size), raw)


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint with its signed note (the log's signature, then any cosignatures)."""

    checkpoint: Checkpoint
    note: SignedNote

    @property
    def tree_size(self) -> int:
        """Number of leaves the checkpoint covers."""
        return self.checkpoint.tree_size

    @property
    def root(self) -> bytes:
        """Root hash of the tree at ``tree_size``."""
        return self.checkpoint.root

    @property
    def origin(self) -> str:
        """The log's origin line."""
        return self.checkpoint.origin

    def text(self) -> str:
        """The whole signed note as text."""
        return self.note.format()

    @classmethod
    def parse(cls, text: str) -> SignedCheckpoint:
        """Parse a signed checkpoint note (signatures are not verified here)."""
        note = parse_note(text)
        return cls(Checkpoint.from_text(note.text), note)
