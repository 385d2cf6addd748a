"""Hostile bundles and leaves: each is a one-line typed error, never a traceback.

Wrong types, missing and unknown fields, 200,000-deep JSON, a 100 MB file, a leaf that is
deep JSON or a 5,000-digit integer, and hypothesis-generated JSON anywhere in a bundle or a
leaf: `verify_bundle` raises `VerificationError` (an `AuditError`) or verifies; `parse_record`
raises `AuditError` or returns a record.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import (
    AuditError,
    NoteSigner,
    VerificationError,
    make_bundle,
    parse_record,
    verify_bundle,
)
from audit.run import canonical_json
from audit.run.json_limits import MAX_BUNDLE_BYTES, MAX_JSON_DEPTH, loads_limited
from tests.audit.run.bundle_forge import forged_bundle
from tests.audit.runs import a_round, make_run, officer_trust, start_record

ROOT = Path(__file__).parents[3]
SIGNER = NoteSigner.generate("fedinsight.test/forged")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    run = make_run(tmp_path_factory.mktemp("limits") / "run", rounds=2)
    return make_bundle(run.run_dir, 2)


def _verify_fails(value: Any) -> str:
    """The one-line message of the `VerificationError` that ``value`` must raise."""
    with pytest.raises(VerificationError) as caught:
        verify_bundle(value)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_untouched_bundle_verifies(bundle: dict[str, Any]) -> None:
    assert verify_bundle(copy.deepcopy(bundle)).round_number == 2


@pytest.mark.parametrize(
    ("path", "value", "wanted"),
    [
        (("entries",), 5, "entries: a list of 2 objects"),
        (("checkpoint",), 123, "checkpoint: a string, not int"),
        (("round",), "2", "round: an integer, not str"),
        (("round",), True, "round: an integer, not bool"),
        (("round",), 10**400, "round: an integer in 1.."),
        (("origin",), None, "origin: a string, not null"),
        (("entries",), [1, 2], r"entries\[0\]: a JSON object, not int"),
        (("entries", 0, "index"), 2**64, r"entries\[0\].index: an integer in 0.."),
        (("entries", 1, "inclusion_proof"), "abc", r"entries\[1\].inclusion_proof: a list"),
        (("entries", 1, "leaf"), ["x"], r"entries\[1\].leaf: a string"),
        (("format",), "other/v9", "format 'other/v9'"),
    ],
)
def test_a_field_of_the_wrong_type_is_named(
    bundle: dict[str, Any], path: tuple[Any, ...], value: Any, wanted: str
) -> None:
    broken = copy.deepcopy(bundle)
    target = broken
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value

    assert re.search(wanted, _verify_fails(broken))


@pytest.mark.parametrize("field", ["entries", "checkpoint", "tlog_proof", "coordinator_vkey"])
def test_a_missing_field_is_named(bundle: dict[str, Any], field: str) -> None:
    broken = {k: v for k, v in copy.deepcopy(bundle).items() if k != field}
    assert f"missing {field}" in _verify_fails(broken)


def test_an_unknown_field_is_refused(bundle: dict[str, Any]) -> None:
    assert "unknown field extra" in _verify_fails({**copy.deepcopy(bundle), "extra": 1})


def test_a_200000_deep_file_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    assert f"nested deeper than {MAX_JSON_DEPTH}" in _verify_fails(path)


def test_a_100_mb_file_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with path.open("wb") as stream:
        stream.truncate(100 * 1024 * 1024)  # sparse: 100 MB of zero bytes
    assert f"larger than the limit of {MAX_BUNDLE_BYTES} bytes" in _verify_fails(path)


def test_a_device_that_never_ends_is_refused() -> None:
    assert "larger than the limit" in _verify_fails(Path("/dev/zero"))


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ('{"a": 1, "a": 2}', "appears twice"),
        ("[NaN]", "NaN is not a JSON number"),
        ("1" * 5000, "5000 digits"),
        (b"\xff\xfe", "not UTF-8"),
        ("{", "not JSON"),
    ],
)
def test_bad_json_files_are_named(tmp_path: Path, text: str | bytes, wanted: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    message = _verify_fails(path)
    assert wanted in message and str(path) in message


def _start_leaf() -> bytes:
    keys = {"hospital-a": NoteSigner.generate("witness.test/hospital-a", 0x04)}
    return canonical_json(start_record(keys))


@pytest.mark.parametrize(
    ("leaf", "wanted"),
    [
        (b"[" * 200_000 + b"]" * 200_000, "nested deeper"),
        (b'{"round":' + b"7" * 5000 + b"}", "5000 digits"),
        (b"9" * 5000, "5000 digits"),
        (b'{"v":1}' + b" " * (2 << 20), "above the limit"),
    ],
)
def test_a_signed_bundle_around_a_hostile_leaf_fails_cleanly(leaf: bytes, wanted: str) -> None:
    forged = forged_bundle(_start_leaf(), leaf, SIGNER)
    assert wanted in _verify_fails(forged)


def test_a_signed_bundle_around_a_real_round_verifies() -> None:
    keys = {"hospital-a": NoteSigner.generate("witness.test/hospital-a", 0x04)}
    forged = forged_bundle(
        canonical_json(start_record(keys)), canonical_json(a_round(1, ["hospital-a"])), SIGNER
    )
    assert verify_bundle(forged).round_number == 1


# -- hypothesis: any JSON anywhere ------------------------------------------------------------

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**30, max_value=10**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            out += _paths(item, (*prefix, position))
    return out


def _verify_or_typed_error(value: Any) -> None:
    try:
        verify_bundle(value)
    except VerificationError as exc:
        assert "\n" not in str(exc)


@FUZZ
@given(data=st.data(), replacement=JSON)
def test_any_json_anywhere_in_a_bundle_is_a_typed_error(
    bundle: dict[str, Any], data: st.DataObject, replacement: Any
) -> None:
    broken = copy.deepcopy(bundle)
    path = data.draw(st.sampled_from(_paths(broken)[1:]))
    target = broken
    for step in path[:-1]:
        target = target[step]
    if data.draw(st.booleans()) and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = replacement

    _verify_or_typed_error(broken)


@FUZZ
@given(value=JSON)
def test_any_json_as_a_whole_bundle_file_is_a_typed_error(tmp_path: Path, value: Any) -> None:
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(value))
    _verify_or_typed_error(path)


@FUZZ
@given(depth=st.integers(min_value=0, max_value=3000), opener=st.sampled_from(["[", '{"a":']))
def test_nesting_of_any_depth_is_a_typed_error(tmp_path: Path, depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    path = tmp_path / "nested.json"
    path.write_text(opener * depth + "1" + closer * depth)
    _verify_or_typed_error(path)


LEAF_JSON = JSON.map(lambda v: json.dumps(v, separators=(",", ":"), sort_keys=True).encode())


@FUZZ
@given(leaf=st.binary(max_size=200) | LEAF_JSON)
def test_any_leaf_is_a_record_or_a_typed_error(leaf: bytes) -> None:
    try:
        parse_record(leaf)
    except AuditError as exc:
        assert "\n" not in str(exc)


@FUZZ
@given(leaf=st.binary(max_size=200) | LEAF_JSON)
def test_any_leaf_in_a_signed_bundle_is_a_typed_error(leaf: bytes) -> None:
    _verify_or_typed_error(forged_bundle(_start_leaf(), leaf, SIGNER))


def test_loads_limited_counts_brackets_inside_strings_as_text() -> None:
    text = json.dumps({"a": "[" * 1000 + '\\"' + "{" * 1000})
    assert loads_limited(text, where="t", max_bytes=1 << 20)["a"].startswith("[[")


# -- the command line ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b'{"format": "fedinsight-audit-bundle/v1", "entries": 5, "checkpoint": 123}',
        b"[" * 200_000,
        b"1" * 5000,
    ],
)
def test_audit_verify_prints_one_line_and_no_traceback(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    trust = officer_trust(tmp_path / "trust")
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "audit", "verify", str(path), *trust],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "80"},
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: verification failed: "), lines
