"""Malformed partner files: each a PartnerDataError naming the file and where, nothing written.

Every bad cell below holds a value that looks personal (an email, a name): the error must say
where the problem is without repeating it, and the node's state folder must be as it was.
"""

from __future__ import annotations

import errno
import gzip
import os
import tracemalloc
from datetime import date
from pathlib import Path
from typing import IO

import pandas as pd
import pytest

from anonymization import PartnerSchema, Pseudonymizer, forget
from client_node.data import ingest
from client_node.errors import PartnerDataError
from client_node.node_state import NodeState
from client_node.raw_input import RawLimits, read_partner_file
from insight import write_event_file

HEADER = "customer_id,timestamp,quantity,amount\n"
GOOD = "cust-a,1997-01-02,1,10.5\ncust-b,1997-01-05,2,3\n"
SECRET = "ada.lovelace@example.org"


def _state(tmp_path: Path) -> NodeState:
    """A used state folder: key, ledger and an earlier cached file that must survive."""
    state = NodeState(tmp_path / "state").ensure()
    state.ingested_dir.mkdir()
    (state.ingested_dir / "earlier.parquet").write_bytes(b"an earlier cache")
    state.ledger_path.write_bytes(b"ledger")
    return state


def _snapshot(state: NodeState) -> dict[str, bytes]:
    return {
        str(p.relative_to(state.root)): p.read_bytes()
        for p in sorted(state.root.rglob("*"))
        if p.is_file()
    }


def _csv(tmp_path: Path, text: str | bytes, name: str = "events.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def _refused(
    path: Path, tmp_path: Path, *, schema: PartnerSchema | None = None, secret: str = SECRET
) -> str:
    """Ingest `path`, expect PartnerDataError, check the state folder; the message."""
    state = _state(tmp_path)
    before = _snapshot(state)
    with pytest.raises(PartnerDataError) as caught:
        ingest(path, schema or PartnerSchema("customer_id"), state)
    message = str(caught.value)
    assert str(path) in message
    assert secret not in message
    assert _snapshot(state) == before
    return message


# 1. a missing required column


def test_a_missing_customer_id_column_of_the_schema_is_named(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER + GOOD)
    message = _refused(path, tmp_path, schema=PartnerSchema("client_ref"))
    assert "missing required column 'client_ref' (the schema's customer id column)" in message


def test_a_missing_timestamp_column_is_named(tmp_path: Path) -> None:
    frame = pd.read_csv(_csv(tmp_path, HEADER + GOOD, "full.csv")).drop(columns="timestamp")
    path = _csv(tmp_path, frame.to_csv(index=False))
    message = _refused(path, tmp_path)
    assert "missing required column 'timestamp' (an event column)" in message


def test_a_visit_log_without_quantity_and_amount_counts_one_unit_of_no_amount(
    tmp_path: Path,
) -> None:
    full = pd.read_csv(_csv(tmp_path, HEADER + GOOD, "full.csv"))
    path = _csv(tmp_path, full.drop(columns=["quantity", "amount"]).to_csv(index=False))
    events = ingest(path, PartnerSchema("customer_id"), _state(tmp_path))
    assert len(events) == len(full)
    assert (events["quantity"] == 1.0).all() and (events["amount"] == 0.0).all()


def test_a_header_with_another_separator_gets_a_hint(tmp_path: Path) -> None:
    path = _csv(tmp_path, "customer_id;timestamp;quantity;amount\n" + f"{SECRET};1997-01-02;1;2\n")
    message = _refused(path, tmp_path)
    assert "separate columns with ',' not ';'" in message


def test_a_file_without_header_does_not_echo_its_first_line(tmp_path: Path) -> None:
    path = _csv(tmp_path, f"{SECRET},1997-01-02,1,10.5\n" + GOOD)
    message = _refused(path, tmp_path)
    assert "missing required column 'customer_id'" in message
    assert "the first line must be the header" in message


# 2. wrong types


@pytest.mark.parametrize(
    ("line", "column", "expected"),
    [
        ("cust-c,1997-01-07,1,{secret}", "amount", "not a number"),
        ("cust-c,1997-01-07,{secret},4", "quantity", "not a number"),
        ("cust-c,{secret},1,4", "timestamp", "not a date; expected ISO 8601"),
    ],
)
def test_a_wrong_type_names_the_first_bad_line_and_column(
    tmp_path: Path, line: str, column: str, expected: str
) -> None:
    bad = line.format(secret=SECRET)
    path = _csv(tmp_path, HEADER + GOOD + bad + "\n" + bad + "\n")
    message = _refused(path, tmp_path)
    assert f", line 4, column '{column}': {expected}" in message


def test_the_first_bad_line_wins_over_the_first_bad_column(tmp_path: Path) -> None:
    rows = f"cust-c,1997-01-07,1,{SECRET}\ncust-d,{SECRET},1,4\n"
    message = _refused(_csv(tmp_path, HEADER + GOOD + rows), tmp_path)
    assert ", line 4, column 'amount': not a number" in message


def test_a_missing_value_is_told_from_a_wrong_one(tmp_path: Path) -> None:
    message = _refused(_csv(tmp_path, HEADER + "cust-a,1997-01-02,1,\n"), tmp_path)
    assert ", line 2, column 'amount': missing value" in message


def test_lines_count_blank_lines_and_quoted_line_breaks(tmp_path: Path) -> None:
    text = (
        "customer_id,timestamp,quantity,amount,note\n"
        "\n"
        'cust-a,1997-01-02,1,2,"two\nlines"\n'
        'cust-b,1997-01-02,1,2,a 5" screen\n'
        "\n"
        f"cust-c,1997-01-05,2,{SECRET},ok\n"
    )
    message = _refused(_csv(tmp_path, text), tmp_path)
    assert ", line 7, column 'amount': not a number" in message


def test_an_unclosed_quote_names_its_line(tmp_path: Path) -> None:
    text = HEADER + GOOD + f'cust-c,1997-01-07,1,"{SECRET}\n' + "cust-d,1997-01-07,1,4\n" * 3
    message = _refused(_csv(tmp_path, text), tmp_path)
    assert ", line 4: a quoted field opened here is never closed" in message


def test_an_extra_field_names_its_line(tmp_path: Path) -> None:
    message = _refused(
        _csv(tmp_path, HEADER + GOOD + f"cust-c,1997-01-07,1,4,{SECRET}\n"), tmp_path
    )
    assert ", line 4: 5 fields where the header has 4" in message


def test_a_text_cell_in_a_parquet_file_names_its_row(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["cust-a", "cust-b"],
            "timestamp": pd.to_datetime(["1997-01-02", "1997-01-05"]),
            "quantity": [1.0, 2.0],
            "amount": ["10.5", SECRET],
        }
    )
    path = tmp_path / "events.parquet"
    frame.to_parquet(path)
    message = _refused(path, tmp_path)
    assert ", row 2, column 'amount': not a number" in message


# 3. bytes that are not UTF-8


def test_bytes_that_are_not_utf8_name_the_line(tmp_path: Path) -> None:
    latin1 = "cust-c,1997-01-07,1,4,Bj\xf6rk\n".encode("latin-1")
    header = b"customer_id,timestamp,quantity,amount,name\n"
    good = b"cust-a,1997-01-02,1,10.5,Ada\n"
    message = _refused(_csv(tmp_path, header + good + latin1), tmp_path, secret="Bj")
    assert ", line 3: bytes that are not valid UTF-8 text in field 5" in message


# 4. empty and header-only files


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    message = _refused(_csv(tmp_path, b""), tmp_path)
    assert "the file is empty (0 bytes)" in message


def test_a_header_only_file_is_refused(tmp_path: Path) -> None:
    message = _refused(_csv(tmp_path, HEADER), tmp_path)
    assert ", line 1: a header line but no data lines after it" in message


def test_an_empty_parquet_file_is_refused(tmp_path: Path) -> None:
    message = _refused(_csv(tmp_path, b"", "events.parquet"), tmp_path)
    assert "the file is empty (0 bytes)" in message


# 5. duplicate headers


def test_a_duplicate_column_name_in_the_header_is_named(tmp_path: Path) -> None:
    text = "customer_id,timestamp,quantity,amount,amount\ncust-a,1997-01-02,1,10.5,11\n"
    message = _refused(_csv(tmp_path, text), tmp_path)
    assert ", line 1: column name 'amount' appears twice (columns 4 and 5)" in message


def test_a_duplicate_unknown_name_is_given_by_position_only(tmp_path: Path) -> None:
    text = f"{SECRET},{SECRET},customer_id,timestamp,quantity,amount\nx,y,cust-a,1997-01-02,1,2\n"
    message = _refused(_csv(tmp_path, text), tmp_path)
    assert ", line 1: columns 1 and 2 have the same name" in message


def test_a_header_repeated_in_the_middle_names_its_line(tmp_path: Path) -> None:
    text = HEADER + GOOD + "\n" + HEADER + f"{SECRET},1997-01-07,1,4\n"
    message = _refused(_csv(tmp_path, text), tmp_path)
    assert ", line 5: the header line appears again here; remove it" in message


# 6. dates out of range


@pytest.mark.parametrize("when", ["1850-03-01", "2300-01-01", "99999-01-01", "0001-01-01"])
def test_a_date_out_of_range_names_its_line(tmp_path: Path, when: str) -> None:
    path = _csv(tmp_path, HEADER + GOOD + f"{SECRET},{when},1,4\n")
    message = _refused(path, tmp_path)
    assert ", line 4, column 'timestamp': date out of range" in message
    assert "between 1970-01-01 and " in message


def test_a_date_beyond_pandas_bounds_in_parquet_names_its_row(tmp_path: Path) -> None:
    stamps = pd.Series(pd.to_datetime(["1997-01-02", "2300-01-01"])).astype("datetime64[us]")
    frame = pd.DataFrame(
        {"customer_id": ["a", "b"], "timestamp": stamps, "quantity": [1, 1], "amount": [1, 1]}
    )
    path = tmp_path / "events.parquet"
    frame.to_parquet(path)
    message = _refused(path, tmp_path)
    assert ", row 2, column 'timestamp': date out of range" in message


def test_the_allowed_date_range_is_a_parameter(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER + GOOD)
    limits = RawLimits(earliest=date(1997, 1, 3), latest=date(1997, 12, 31))
    with pytest.raises(PartnerDataError, match=r"line 2, column 'timestamp': date out of range"):
        read_partner_file(path, PartnerSchema("customer_id"), limits=limits)


# 7. negative numbers


def test_a_negative_amount_names_its_line(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER + GOOD + "cust-c,1997-01-07,1,-4.25\n")
    message = _refused(path, tmp_path, secret="-4.25")
    assert ", line 4, column 'amount': negative amount; it must be 0 or more" in message


def test_negative_and_zero_quantities_pass_as_the_event_schema_allows(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER + "cust-a,1997-01-02,-1,0\ncust-b,1997-01-05,0,3\n")
    events = ingest(path, PartnerSchema("customer_id"), NodeState(tmp_path / "state").ensure())
    assert events["quantity"].tolist() == [-1.0, 0.0]


# 8. one enormous line


def test_an_enormous_line_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    with path.open("wb") as fh:
        fh.write((HEADER + GOOD).encode())
        fh.write(b"cust-c,1997-01-07,1,")
        fh.write(b"9" * 20_000_000 + b"\n")
    tracemalloc.start()
    try:
        message = _refused(path, tmp_path, secret="9" * 64)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ", line 4: line longer than the limit of 1 MiB" in message
    assert peak < 16 * 2**20


def test_the_line_limit_is_a_parameter(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER + GOOD)
    with pytest.raises(PartnerDataError, match=r"line 1: line longer than the limit of 16 bytes"):
        read_partner_file(path, PartnerSchema("customer_id"), limits=RawLimits(max_line_bytes=16))


# Nothing written half, and valid files as before


def test_a_failed_cache_write_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _csv(tmp_path, HEADER + GOOD)
    state = _state(tmp_path)
    before = _snapshot(state)

    def disk_full(
        self: pd.DataFrame, target: str | os.PathLike[str] | IO[bytes], **_: object
    ) -> None:
        if isinstance(target, str | os.PathLike):
            Path(target).write_bytes(b"PAR1 half a file")
        else:
            target.write(b"PAR1 half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full)
    with pytest.raises(OSError, match="No space left"):
        ingest(path, PartnerSchema("customer_id"), state)
    assert _snapshot(state) == before


def test_write_event_file_replaces_the_old_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    write_event_file(pd.DataFrame({"a": [1, 2]}), path)
    write_event_file(pd.DataFrame({"a": [3]}), path)
    assert pd.read_parquet(path)["a"].tolist() == [3]
    assert [p.name for p in tmp_path.iterdir()] == ["events.parquet"]


def test_a_failed_write_event_file_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    write_event_file(pd.DataFrame({"a": [1, 2]}), path)
    with pytest.raises((TypeError, ValueError)):  # pyarrow cannot store a bare object
        write_event_file(pd.DataFrame({"a": [1, object()]}), path)
    assert pd.read_parquet(path)["a"].tolist() == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["events.parquet"]


def test_a_csv_ingests_as_its_parquet_twin(tmp_path: Path) -> None:
    text = HEADER + "cust-a,1997-01-02,1,10.5\n\ncust-b,1997-01-05 14:30:00,2,3\n"
    csv_path = _csv(tmp_path, "\ufeff" + text)
    gz_path = tmp_path / "events.csv.gz"
    gz_path.write_bytes(gzip.compress(text.encode()))
    frame = pd.read_csv(csv_path, dtype={"customer_id": str}, parse_dates=["timestamp"])
    parquet_path = tmp_path / "events.parquet"
    frame.to_parquet(parquet_path)
    state = NodeState(tmp_path / "state").ensure()
    schema = PartnerSchema("customer_id")

    from_csv = ingest(csv_path, schema, state)
    from_gz = ingest(gz_path, schema, state)
    from_parquet = ingest(parquet_path, schema, state)

    pd.testing.assert_frame_equal(from_csv, from_parquet)
    pd.testing.assert_frame_equal(from_gz, from_parquet)
    pseudonym = Pseudonymizer(state.pseudonym_key()).pseudonym("cust-a")
    assert from_csv["customer_id"].iloc[0] == pseudonym


def test_rows_without_customer_id_are_dropped_unchecked(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER + GOOD + ",not-a-date,x,y\n")
    events = ingest(path, PartnerSchema("customer_id"), NodeState(tmp_path / "state").ensure())
    assert len(events) == 2


def test_the_cache_is_private_and_alone(tmp_path: Path) -> None:
    state = NodeState(tmp_path / "state").ensure()
    ingest(_csv(tmp_path, HEADER + GOOD), PartnerSchema("customer_id"), state)
    (cached,) = state.ingested_dir.iterdir()
    assert cached.suffix == ".parquet"
    assert os.stat(cached).st_mode & 0o077 == 0


def test_a_fresh_and_a_cached_ingest_agree(tmp_path: Path) -> None:
    state = NodeState(tmp_path / "state").ensure()
    forget(["cust-b"], state.pseudonym_key(), state.erasure_path)
    path = _csv(tmp_path, HEADER + GOOD + "cust-c,1997-01-07,1,4\n")

    fresh = ingest(path, PartnerSchema("customer_id"), state)
    cached = ingest(path, PartnerSchema("customer_id"), state)

    pd.testing.assert_frame_equal(fresh, cached)
    assert len(fresh) == 2
