"""Key files: created 0600, read back, and clear errors for missing, short or malformed keys."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from anonymization import KEY_BYTES, KeyFileError, Pseudonymizer, generate_key_file, load_key


def test_generated_key_file_is_private_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "partner.key"

    key = generate_key_file(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) == KEY_BYTES
    assert load_key(path) == key


def test_generate_refuses_to_overwrite_an_existing_key(tmp_path: Path) -> None:
    path = tmp_path / "partner.key"
    first = generate_key_file(path)

    with pytest.raises(KeyFileError, match="already exists"):
        generate_key_file(path)

    assert load_key(path) == first


def test_overwrite_rotates_the_key(tmp_path: Path) -> None:
    path = tmp_path / "partner.key"
    first = generate_key_file(path)

    second = generate_key_file(path, overwrite=True)

    assert second != first and load_key(path) == second


def test_missing_key_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.key"

    with pytest.raises(KeyFileError, match=r"nowhere\.key: key file not found"):
        load_key(path)


def test_short_key_is_rejected_with_its_length(tmp_path: Path) -> None:
    path = tmp_path / "short.key"
    path.write_text("00" * 16 + "\n")

    with pytest.raises(KeyFileError, match="16 bytes long; a key must be exactly 32 bytes"):
        load_key(path)


def test_non_hex_key_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.key"
    path.write_text("not a key at all\n")

    with pytest.raises(KeyFileError, match="hexadecimal"):
        load_key(path)


def test_pseudonymizer_rejects_a_short_key() -> None:
    with pytest.raises(KeyFileError, match="must be 32 bytes, got 31"):
        Pseudonymizer(b"k" * 31)


def test_key_never_appears_in_repr_or_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "partner.key"

    key = generate_key_file(path)
    loaded = Pseudonymizer(load_key(path))

    assert key.hex() not in repr(loaded)
    assert key.hex() not in caplog.text
