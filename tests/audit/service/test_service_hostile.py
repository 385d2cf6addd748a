"""The audit service on bad input and on a log that fails verification: 4xx or "verification
failed", never a 500; ε is never served as a plain 200 from an unverified log; /docs is
offline. Schemathesis drives every route from the OpenAPI document."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from audit import audit_paths
from audit.service import AuditServiceSettings, create_app
from tests.audit.runs import drop_guards, make_run

ROOT = Path(__file__).parents[3]


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("hostile") / "run", rounds=3).run_dir


def _rewrite_leaves(run_dir: Path, old: bytes, new: bytes) -> None:
    """Replace ``old`` by ``new`` (same length) in the stored leaf bytes, as an attacker
    holding the file would: the leaves no longer hash to the signed roots."""
    assert len(old) == len(new)
    log_path, _ = audit_paths(run_dir)
    conn = sqlite3.connect(log_path)
    drop_guards(conn)
    for start, data in conn.execute("SELECT start, data FROM leaves").fetchall():
        conn.execute("UPDATE leaves SET data = ? WHERE start = ?", (data.replace(old, new), start))
    conn.commit()
    conn.close()


@pytest.fixture(scope="module")
def tampered_run(good_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ε of round 3 rewritten from 1.5 to 0.5 in the leaves, nothing else touched."""
    run_dir = tmp_path_factory.mktemp("tampered") / "run"
    shutil.copytree(good_run, run_dir)
    _rewrite_leaves(
        run_dir,
        b'"epsilon_cumulative":{"hospital-a":1.5',
        b'"epsilon_cumulative":{"hospital-a":0.5',
    )
    return run_dir


@pytest.fixture(scope="module")
def broken_leaf_run(good_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every leaf's opening brace replaced: no leaf is a record any more."""
    run_dir = tmp_path_factory.mktemp("broken") / "run"
    shutil.copytree(good_run, run_dir)
    _rewrite_leaves(run_dir, b'{"', b'["')
    return run_dir


def _client(run_dir: Path) -> TestClient:
    return TestClient(create_app(run_dir, AuditServiceSettings()))


@pytest.fixture
def good(good_run: Path) -> Iterator[TestClient]:
    with _client(good_run) as client:
        yield client


@pytest.fixture
def tampered(tampered_run: Path) -> Iterator[TestClient]:
    with _client(tampered_run) as client:
        yield client


def test_epsilon_of_a_verified_log_says_so(good: TestClient) -> None:
    body = good.get("/api/v1/epsilon").json()
    assert body["verified"] is True and body["tree_size"] == 5
    assert body["partners"]["hospital-a"]["series"][-1]["cumulative"] == 1.5


def test_epsilon_of_a_rewritten_log_is_409_with_the_verification_error(
    tampered: TestClient,
) -> None:
    answer = tampered.get("/api/v1/epsilon")

    assert answer.status_code == 409
    body = answer.json()
    assert body["verified"] is False and body["detail"].startswith("verification failed: ")
    assert "0.5" not in str(body.get("partners", ""))


def test_rounds_of_a_rewritten_log_say_they_are_not_verified(
    good: TestClient, tampered: TestClient
) -> None:
    assert good.get("/api/v1/rounds").json()["verified"] is True
    body = tampered.get("/api/v1/rounds").json()
    assert body["verified"] is False and "differs" in body["verification"]


def test_the_page_of_a_rewritten_log_says_verification_failed(tampered: TestClient) -> None:
    page = tampered.get("/")
    assert page.status_code == 200 and "Verification FAILED" in page.text


def test_leaves_that_are_not_records_are_409_never_500(broken_leaf_run: Path) -> None:
    with _client(broken_leaf_run) as client:
        for path in ("/api/v1/entries", "/api/v1/entries/1", "/api/v1/rounds", "/api/v1/epsilon"):
            answer = client.get(path)
            assert answer.status_code == 409, (path, answer.text)
            assert answer.json()["detail"].startswith("verification failed: ")
        assert client.get("/").status_code == 409


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/entries/99999999999999999999999",
        "/api/v1/entries?start=99999999999999999999999",
        "/api/v1/entries?start=0&end=99999999999999999999999",
        "/api/v1/proof/inclusion?index=9223372036854775808",
        "/api/v1/proof/consistency?first=1&second=9223372036854775808",
        "/api/v1/entries/-1",
        "/api/v1/entries?start=abc",
    ],
)
def test_out_of_range_numbers_are_422(good: TestClient, path: str) -> None:
    assert good.get(path).status_code == 422


def test_ranges_past_the_log_are_empty_or_4xx(good: TestClient) -> None:
    assert good.get("/api/v1/entries", params={"start": 9}).json()["entries"] == []
    assert good.get("/api/v1/entries", params={"start": 3, "end": 1}).status_code == 400
    assert (
        good.get("/api/v1/proof/inclusion", params={"index": 1, "tree_size": 99}).status_code == 400
    )


def test_docs_work_offline(good: TestClient) -> None:
    docs = good.get("/docs")

    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    assert "<script" not in docs.text and "http" not in docs.text.replace("http://www.w3.org", "")
    assert "/api/v1/epsilon" in docs.text and "/api/v1/proof/inclusion" in docs.text
    assert good.get("/redoc").status_code == 404


# -- schemathesis: every route, generated parameters, both logs -------------------------------


@pytest.fixture(params=["good_run", "tampered_run", "broken_leaf_run"])
def hostile_app(request: pytest.FixtureRequest) -> FastAPI:
    run_dir = request.getfixturevalue(request.param)
    return create_app(run_dir, AuditServiceSettings())


def test_no_generated_request_is_a_server_error(hostile_app: FastAPI) -> None:
    api = schemathesis.openapi.from_asgi("/openapi.json", hostile_app)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 9

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
        def no_server_error(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=[not_a_server_error])

        no_server_error()


# -- a real uvicorn on loopback ------------------------------------------------------------------


@contextmanager
def _served(run_dir: Path) -> Iterator[str]:
    """``fedinsight audit serve RUN_DIR`` on a free loopback port; yields its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDINSIGHT_AUDIT_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "audit", "serve", str(run_dir), "--port", str(port)],
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, "server exited early"
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


@pytest.mark.slow
def test_real_uvicorn_on_a_rewritten_log_never_answers_500(tampered_run: Path) -> None:
    with _served(tampered_run) as base:
        epsilon = httpx.get(f"{base}/api/v1/epsilon", timeout=10)
        docs = httpx.get(f"{base}/docs", timeout=10)
        api = schemathesis.openapi.from_url(f"{base}/openapi.json")
        operations = [result.ok() for result in api.get_all_operations()]
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
            def no_server_error(case: schemathesis.Case) -> None:
                case.call_and_validate(checks=[not_a_server_error])

            no_server_error()

    assert epsilon.status_code == 409 and epsilon.json()["verified"] is False
    assert docs.status_code == 200 and "<script" not in docs.text
    assert len(operations) >= 9
