"""The salted update commitment: binding for the partner, untestable for everyone else."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from privacy import PrivacyError, salted_update_hash, update_salt
from privacy.update_commitment import SECRET_FILE


def test_the_salt_is_stable_per_round_and_differs_between_rounds(tmp_path: Path) -> None:
    first = update_salt(tmp_path, run_id="run-1", server_round=1)
    assert update_salt(tmp_path, run_id="run-1", server_round=1) == first
    assert update_salt(tmp_path, run_id="run-1", server_round=2) != first
    assert update_salt(tmp_path, run_id="run-2", server_round=1) != first


def test_the_secret_is_private_to_the_partner(tmp_path: Path) -> None:
    update_salt(tmp_path, run_id="r", server_round=1)
    mode = stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode)
    assert mode == 0o600


def test_two_partners_commit_to_the_same_update_differently(tmp_path: Path) -> None:
    update = b"the same deterministic update"
    a = salted_update_hash(update, salt=update_salt(tmp_path / "a", run_id="r", server_round=1))
    b = salted_update_hash(update, salt=update_salt(tmp_path / "b", run_id="r", server_round=1))
    assert a != b
    assert hashlib.sha256(update).hexdigest() not in (a, b)


def test_a_commitment_opens_with_the_salt(tmp_path: Path) -> None:
    salt = update_salt(tmp_path, run_id="r", server_round=3)
    commitment = salted_update_hash(b"update", salt=salt)
    assert salted_update_hash(b"update", salt=salt) == commitment
    assert salted_update_hash(b"another update", salt=salt) != commitment


def test_a_short_salt_is_refused() -> None:
    with pytest.raises(PrivacyError, match="16 bytes"):
        salted_update_hash(b"update", salt=b"short")
