"""A run's manifest: what a partner approves before its data is trained on.

The manifest names the code (sha256 over the app's Python packages), the model architecture
(``architecture_hash``), the DP terms and the training terms of a run. The coordinator puts the
manifest's hash in the run-start record of the audit log; a partner node recomputes the
manifest from the code it is actually running and the run config it actually received, and
trains only when that hash is one it approved (``fedinsight node approve``). A coordinator that
changed the code or the terms gets a different hash, and a refusal.

Paths (run directory, data, keys) and the simulation's partitioning are not terms: they do not
change what is computed on a partner's data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from federation.errors import ManifestError
from federation.settings import RunSettings

MANIFEST_FORMAT = "fedinsight-run-manifest/1"
CODE_PACKAGES = (
    "insight",
    "federation",
    "coordinator",
    "client_node",
    "privacy",
    "anonymization",
    "audit",
)
DP_TERMS = (
    "dp",
    "noise-multiplier",
    "max-grad-norm",
    "target-epsilon",
    "target-delta",
    "dp-accountant",
    "central-dp",
    "central-noise-multiplier",
    "central-clipping-norm",
)
TRAINING_TERMS = (
    "num-server-rounds",
    "local-epochs",
    "batch-size",
    "learning-rate",
    "fraction-train",
    "seed",
    "calibration-end",
    "holdout-end",
    "max-events",
    "num-windows",
)


def code_hash(root: Path | None = None) -> str:
    """sha256 over the app's Python files (relative path and content, in path order)."""
    root = root or Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for package in CODE_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            # POSIX paths and LF line ends: the same code hashes the same on every system.
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def build_manifest(
    settings: RunSettings, *, code_sha256: str, architecture_sha256: str
) -> dict[str, Any]:
    values = settings.to_flower()
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "code_sha256": code_sha256,
        "architecture_sha256": architecture_sha256,
        "dp": {key: values[key] for key in DP_TERMS},
        "training": {key: values[key] for key in TRAINING_TERMS},
    }
    manifest["manifest_sha256"] = manifest_hash(manifest)
    return manifest


def run_manifest(settings: RunSettings) -> dict[str, Any]:
    """The manifest of a run with these settings, on the code this process runs."""
    from insight import CustomerSequenceModel, architecture_hash

    return build_manifest(
        settings,
        code_sha256=code_hash(),
        architecture_sha256=architecture_hash(CustomerSequenceModel()),
    )


def manifest_hash(manifest: Mapping[str, Any]) -> str:
    """sha256 of the manifest's canonical JSON, without its own ``manifest_sha256`` field."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def read_manifest(path: Path) -> dict[str, Any]:
    """A manifest file, checked: its format, its fields and that its hash matches its content.

    Raises:
        ManifestError: naming ``path``, when any of those checks fails.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{path}: not a readable JSON manifest ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise ManifestError(f"{path}: not a {MANIFEST_FORMAT} manifest")
    missing = {"code_sha256", "architecture_sha256", "dp", "training", "manifest_sha256"} - set(
        data
    )
    if missing:
        raise ManifestError(f"{path}: manifest lacks {', '.join(sorted(missing))}")
    if manifest_hash(data) != data["manifest_sha256"]:
        raise ManifestError(
            f"{path}: manifest_sha256 does not match the manifest's content (edited after it "
            "was made?)"
        )
    return data


def write_manifest(manifest: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(manifest), indent=2, sort_keys=True) + "\n", encoding="utf-8")
