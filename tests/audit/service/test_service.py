"""The read-only audit service: FastAPI TestClient, and once a real uvicorn on loopback."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from audit import MerkleLog, leaf_hash, verify_consistency, verify_inclusion
from audit.service import AuditServiceSettings, create_app
from tests.audit.runs import make_run

TOKEN = "k3P9vQ2xL7mN4tR8wZ1yB6cF0hJ5dG2s"
ROOT = Path(__file__).parents[3]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("service") / "run", rounds=3).run_dir


@pytest.fixture
def client(run_dir: Path) -> Iterator[TestClient]:
    settings = AuditServiceSettings(token=SecretStr(TOKEN))
    with TestClient(
        create_app(run_dir, settings), headers={"Authorization": f"Bearer {TOKEN}"}
    ) as test_client:
        yield test_client


def _b(value: str) -> bytes:
    return base64.b64decode(value)


def test_checkpoint_and_proofs_from_the_api_verify(client: TestClient) -> None:
    checkpoint = client.get("/api/v1/checkpoint").json()
    size, root = checkpoint["tree_size"], _b(checkpoint["root"])
    entry = client.get("/api/v1/entries/2").json()
    inclusion = client.get("/api/v1/proof/inclusion", params={"index": 2}).json()
    consistency = client.get("/api/v1/proof/consistency", params={"first": 2}).json()
    first_two = client.get("/api/v1/entries", params={"end": 2}).json()["entries"]
    mirror = MerkleLog()
    mirror.extend(_b(e["leaf"]) for e in first_two)

    verify_inclusion(
        leaf_hash(_b(entry["leaf"])), 2, size, [_b(h) for h in inclusion["inclusion_proof"]], root
    )
    verify_consistency(
        2, size, [_b(h) for h in consistency["consistency_proof"]], mirror.root(), root
    )
    assert entry["record"]["round"] == 2
    assert client.get("/api/v1/checkpoint/note").text.startswith("fedinsight.test/run-1\n5\n")


def test_entries_rounds_epsilon_and_verification(client: TestClient) -> None:
    entries = client.get("/api/v1/entries", params={"start": 1, "end": 3}).json()
    rounds = client.get("/api/v1/rounds").json()["rounds"]
    epsilon = client.get("/api/v1/epsilon").json()["partners"]
    status = client.get("/api/v1/verification").json()

    assert [e["index"] for e in entries["entries"]] == [1, 2]
    assert [r["round"] for r in rounds] == [1, 2, 3]
    assert [p["cumulative"] for p in epsilon["hospital-a"]["series"]] == [0.5, 1.0, 1.5]
    assert epsilon["retailer-b"]["budget"] == 4.0
    assert status["ok"] and status["tree_size"] == 5


def test_bad_requests_get_clear_statuses(client: TestClient) -> None:
    assert client.get("/api/v1/entries/99").status_code == 404
    assert client.get("/api/v1/proof/inclusion", params={"index": 9}).status_code == 400
    assert (
        client.get("/api/v1/proof/consistency", params={"first": 4, "second": 2}).status_code == 400
    )
    assert client.get("/api/v1/entries", params={"start": -1}).status_code == 422


def test_officer_page_shows_rounds_epsilon_and_status(client: TestClient) -> None:
    page = client.get("/")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<svg" in page.text and "hospital-a" in page.text and "Verified" in page.text


def test_routes_need_the_token_but_docs_and_health_do_not(run_dir: Path) -> None:
    settings = AuditServiceSettings(token=SecretStr(TOKEN))
    with TestClient(create_app(run_dir, settings)) as anonymous:
        assert anonymous.get("/api/v1/checkpoint").status_code == 401
        assert anonymous.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert anonymous.get("/healthz").status_code == 200
        assert "/api/v1/proof/inclusion" in anonymous.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("token", ["short", "changeme" * 5, "a" * 40])
def test_weak_tokens_are_refused_without_echoing_them(token: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AuditServiceSettings(token=SecretStr(token))
    assert token not in str(caught.value)


def test_settings_come_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEDINSIGHT_AUDIT_TOKEN", TOKEN)
    monkeypatch.setenv("FEDINSIGHT_AUDIT_MAX_ENTRIES", "7")
    settings = AuditServiceSettings()

    assert settings.token is not None and settings.token.get_secret_value() == TOKEN
    assert settings.max_entries == 7


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_real_uvicorn_serves_the_api_on_loopback(run_dir: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FEDINSIGHT_AUDIT_TOKEN": TOKEN}
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from cli.audit_cmd import app; app()",
            "serve",
            str(run_dir),
            "--port",
            str(port),
            "--token-env",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, "server exited early"
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.2)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        checkpoint = httpx.get(f"{base}/api/v1/checkpoint", headers=auth, timeout=5)
        refused = httpx.get(f"{base}/api/v1/checkpoint", timeout=5)

        assert checkpoint.status_code == 200 and checkpoint.json()["tree_size"] == 5
        assert refused.status_code == 401
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)
