"""Strict parsing of key IDs (``[0-9a-f]{8}``) and checkpoint tree sizes (below 2**64)."""

from __future__ import annotations

import base64

import pytest

from audit import Checkpoint, FormatError, NoteSigner, parse_vkey
from audit.merkle.key_files import parse_signer, signer_text

KEY = NoteSigner.generate("log.test/strict")


def _with_key_id(text: str, key_id: str, position: int) -> str:
    parts = text.split("+")
    parts[position] = key_id
    return "+".join(parts)


def test_the_true_key_id_parses() -> None:
    assert parse_vkey(KEY.verifier.vkey) == KEY.verifier


@pytest.mark.parametrize(
    "mangle",
    [
        str.upper,  # upper-case hex
        lambda h: "0x" + h[2:],  # a 0x prefix int(_, 16) accepts
        lambda h: "+" + h[1:],  # a sign
        lambda h: h[:4] + "_" + h[5:],  # an underscore int(_, 16) accepts
        lambda h: " " + h[1:],  # a space
        lambda h: h[:7],  # too short
        lambda h: h + "0",  # too long
        lambda h: "\u0661" + h[1:],  # a non-ASCII digit
    ],
)
def test_a_key_id_other_than_8_lowercase_hex_digits_is_refused(mangle: object) -> None:
    hex_id = f"{KEY.key_id:08x}"
    assert callable(mangle)
    changed = mangle(hex_id)
    if changed == hex_id:
        pytest.skip("this key ID has no letters to change")

    with pytest.raises(FormatError, match="8 lowercase hex digits"):
        parse_vkey(_with_key_id(KEY.verifier.vkey, changed, 1))
    with pytest.raises(FormatError, match="8 lowercase hex digits"):
        parse_signer(_with_key_id(signer_text(KEY), changed, 3))


def _checkpoint_text(size: str) -> str:
    return f"log.test/strict\n{size}\n{base64.b64encode(bytes(32)).decode()}\n"


def test_a_tree_size_of_2_64_minus_1_parses() -> None:
    assert Checkpoint.from_text(_checkpoint_text(str(2**64 - 1))).tree_size == 2**64 - 1


@pytest.mark.parametrize("size", [str(2**64), "99999999999999999999", "-1", "01", "1e3", ""])
def test_a_tree_size_of_2_64_or_more_or_not_a_plain_decimal_is_refused(size: str) -> None:
    with pytest.raises(FormatError, match="tree size"):
        Checkpoint.from_text(_checkpoint_text(size))


def test_a_checkpoint_object_refuses_a_size_beyond_uint64() -> None:
    with pytest.raises(FormatError, match=r"outside 0\.\.2\*\*64-1"):
        Checkpoint("log.test/strict", 2**64, bytes(32))


def test_a_key_file_that_never_ends_is_refused() -> None:
    from audit import read_vkey

    with pytest.raises(FormatError, match="not a key file"):
        read_vkey("/dev/zero")
