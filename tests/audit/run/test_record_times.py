"""Record times are compared as datetimes: as text, ``...:00Z`` sorts after ``...:00.5Z``."""

from __future__ import annotations

from typing import Any

import pytest

from audit import RecordError, round_record
from audit.run.record_fields import time_of
from tests.audit.runs import sha


def _round(started_at: str, ended_at: str) -> dict[str, Any]:
    return round_record(
        round_number=1,
        participants=["hospital-a"],
        update_hashes={"hospital-a": sha("u")},
        model_hash_before=sha("m0"),
        model_hash_after=sha("m1"),
        epsilon_spent={"hospital-a": 0.5},
        epsilon_cumulative={"hospital-a": 0.5},
        epsilon_budget={"hospital-a": 4.0},
        data_commitments={"hospital-a": sha("d")},
        started_at=started_at,
        ended_at=ended_at,
    )


def test_a_round_ending_half_a_second_after_a_whole_second_is_valid() -> None:
    # As strings "10:00:00Z" > "10:00:00.5Z" ('Z' sorts after '.'): the old check refused it.
    record = _round("2025-03-01T10:00:00Z", "2025-03-01T10:00:00.5Z")
    assert record["ended_at"] == "2025-03-01T10:00:00.5Z"


def test_a_round_ending_before_it_started_is_refused_even_when_the_text_sorts_later() -> None:
    # As strings "10:00:00.9Z" < "10:00:00Z"; as times it ends 0.9 s before it started.
    with pytest.raises(RecordError, match="started_at is after ended_at"):
        _round("2025-03-01T10:00:00.9Z", "2025-03-01T10:00:00Z")


def test_time_of_is_an_aware_utc_datetime() -> None:
    moment = time_of("2025-03-01T10:00:00.25Z", "t")
    assert moment.utcoffset() is not None and moment.microsecond == 250_000
