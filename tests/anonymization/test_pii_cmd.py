"""The pseudonymize, forget and keygen commands on a tiny csv."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from anonymization import Pseudonymizer, generate_key_file, write_pii_schema
from cli.pii_cmd import pii_app

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, pii_table: pd.DataFrame) -> Path:
    pii_table.to_csv(tmp_path / "raw.csv", index=False)
    write_pii_schema(tmp_path / "schema.toml")
    generate_key_file(tmp_path / "partner.key")
    return tmp_path


def test_pseudonymize_writes_a_clean_table(workdir: Path, pii_table: pd.DataFrame) -> None:
    result = runner.invoke(
        pii_app,
        [
            "pseudonymize",
            str(workdir / "raw.csv"),
            "--out",
            str(workdir / "clean.csv"),
            "--schema",
            str(workdir / "schema.toml"),
            "--key-file",
            str(workdir / "partner.key"),
        ],
    )

    assert result.exit_code == 0, result.output
    clean = pd.read_csv(workdir / "clean.csv", dtype=str)
    assert "customer_id" in clean.columns and "email" not in clean.columns
    text = (workdir / "clean.csv").read_text()
    assert not [email for email in pii_table["email"] if email in text]
    assert "00017" not in text
    assert not list(workdir.glob(".clean.csv*"))


def test_missing_key_file_is_one_clear_line(workdir: Path) -> None:
    result = runner.invoke(
        pii_app,
        [
            "pseudonymize",
            str(workdir / "raw.csv"),
            "--out",
            str(workdir / "clean.csv"),
            "--schema",
            str(workdir / "schema.toml"),
            "--key-file",
            str(workdir / "absent.key"),
        ],
    )

    assert result.exit_code == 1
    assert "absent.key: key file not found" in result.output
    assert "Traceback" not in result.output
    assert not (workdir / "clean.csv").exists()


def test_unknown_schema_column_is_named(workdir: Path) -> None:
    (workdir / "schema.json").write_text(json.dumps({"customer_id": "cust_no"}))

    result = runner.invoke(
        pii_app,
        [
            "pseudonymize",
            str(workdir / "raw.csv"),
            "--out",
            str(workdir / "clean.csv"),
            "--schema",
            str(workdir / "schema.json"),
            "--key-file",
            str(workdir / "partner.key"),
        ],
    )

    assert result.exit_code == 1
    assert "column 'cust_no'" in result.output and "Traceback" not in result.output


def test_forget_appends_pseudonyms_to_the_erasure_list(workdir: Path) -> None:
    erasure = workdir / "erasure.jsonl"
    ids = workdir / "ids.txt"
    ids.write_text("00042\n")

    first = runner.invoke(
        pii_app,
        [
            "forget",
            "00017",
            "--file",
            str(ids),
            "--key-file",
            str(workdir / "partner.key"),
            "--erasure-list",
            str(erasure),
        ],
    )

    assert first.exit_code == 0, first.output
    key = bytes.fromhex((workdir / "partner.key").read_text())
    listed = [json.loads(line)["pseudonym"] for line in erasure.read_text().splitlines()]
    assert listed == Pseudonymizer(key).pseudonyms(["00017", "00042"])


def test_forget_without_ids_is_a_clear_error(workdir: Path) -> None:
    result = runner.invoke(
        pii_app,
        [
            "forget",
            "--key-file",
            str(workdir / "partner.key"),
            "--erasure-list",
            str(workdir / "erasure.jsonl"),
        ],
    )

    assert result.exit_code == 1 and "give customer ids or --file" in result.output


def test_keygen_refuses_to_overwrite(workdir: Path) -> None:
    result = runner.invoke(pii_app, ["keygen", str(workdir / "partner.key")])

    assert result.exit_code == 1 and "already exists" in result.output


def test_a_malformed_table_is_one_located_line_without_its_values(workdir: Path) -> None:
    raw = workdir / "raw.csv"
    raw.write_text(raw.read_text() + "00017,ada@example.org" + ",x" * 40 + "\n")

    result = runner.invoke(
        pii_app,
        [
            "pseudonymize",
            str(raw),
            "--out",
            str(workdir / "clean.csv"),
            "--schema",
            str(workdir / "schema.toml"),
            "--key-file",
            str(workdir / "partner.key"),
        ],
    )

    assert result.exit_code == 1
    assert "fields where the header has" in result.output
    assert "ada@example.org" not in result.output and "Traceback" not in result.output
    assert not (workdir / "clean.csv").exists()


def test_pseudonymize_output_does_not_depend_on_workers(workdir: Path) -> None:
    def run(workers: str, out: str) -> str:
        args = ["pseudonymize", str(workdir / "raw.csv"), "--out", str(workdir / out)]
        args += [
            "--schema",
            str(workdir / "schema.toml"),
            "--key-file",
            str(workdir / "partner.key"),
        ]
        result = runner.invoke(pii_app, [*args, "--workers", workers])
        assert result.exit_code == 0, result.output
        return (workdir / out).read_text()

    assert run("1", "one.csv") == run("2", "two.csv")
