"""A run's manifest: what a partner approves before its data is trained on.

The manifest names the code (sha256 over the app's Python packages), the model architecture
(``architecture_hash``) and every term a partner agrees to, in four sections: ``dp`` (per-customer
DP-SGD at each partner), ``central_dp`` (partner-level DP at the coordinator), ``training`` and
``federation`` (how the coordinator runs the rounds: ``min-partners``, ``round-timeout``,
``aggregation`` and ``trim-beta``, ``max-update-norm``, ``evaluate-every``). The coordinator
puts the manifest's hash in the run-start record of the audit log; a partner node recomputes
the manifest from the code it is actually running and the run config it actually received, and
trains only when that hash is one it approved (``fedinsight node approve``). A coordinator that
changed the code or any term gets a different hash, and a refusal.

The noise multiplier. A run either fixes sigma (``noise-multiplier`` > 0, the same at every
partner) or has each partner calibrate it (``noise-multiplier`` 0 in the run config): the
smallest sigma whose whole run, ``num-server-rounds * local-epochs * ceil(n / batch-size)``
steps at sample rate ``min(1, batch-size / n)``, spends ``target-epsilon`` at ``target-delta``
under ``dp-accountant`` (``federation.partner_noise_multiplier``), where ``n`` is the number of
the partner's customers with a training window. ``n`` is the partner's own and the coordinator
never learns it, so the coordinator cannot honestly resolve a calibrated sigma: the manifest
states ``noise-multiplier`` null and ``noise-calibration`` names the rule, whose inputs are all
terms of the manifest; the partner's node resolves its own sigma from its own data when it
approves (``client_node.approval.own_noise_multiplier``), with the very function it trains
with. A fixed sigma is stated as is.

Evaluations. Each evaluation the coordinator asks of a partner is a charged query (Gaussian
noise of ``evaluation-noise-multiplier``, ``privacy.evaluation``); ``num-evaluations``, derived
from ``num-server-rounds`` and ``evaluate-every``, is the most a partner answers in the run, and
the calibrated sigma leaves room for them in ``target-epsilon``. The manifest therefore
depends on the run config only, and a partner recomputing it from the run config it received
gets the coordinator's hash.

Paths (run directory, data, keys), the simulation's dataset and partitioning, and a node's own
ε budget are not terms (``NOT_TERMS``): they do not change what is computed on a partner's data,
or they are the partner's own.

The audit log. ``coordinator manifest --folder --name`` adds an ``audit`` section: the exact
origin of the run's audit log and the coordinator's verifier key. They are not terms of what is
computed on the partner's data and not in ``manifest_sha256`` (a node recomputes the hash from
the run config, which does not hold them); the partner pins them when it approves the manifest
(``client_node.approval.approve``) and cosigns no other log for the run.

Format ``fedinsight-run-manifest/2`` added the ``central_dp`` and ``federation`` sections and the
resolved noise terms; ``read_manifest`` refuses a ``/1`` manifest, naming the format it needs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from federation.dp import dp_terms
from federation.errors import ManifestError
from federation.settings import RunSettings

MANIFEST_FORMAT = "fedinsight-run-manifest/2"
MANIFEST_FORMAT_PREFIX = "fedinsight-run-manifest/"
CODE_PACKAGES = (
    "insight",
    "federation",
    "coordinator",
    "client_node",
    "privacy",
    "anonymization",
    "audit",
)
# Each section's terms, in the order the approval prompt shows them.
DP_TERMS = (
    "dp",
    "noise-multiplier",
    "noise-calibration",
    "target-epsilon",
    "target-delta",
    "dp-accountant",
    "max-grad-norm",
    "evaluation-noise-multiplier",
    "num-evaluations",
)
CENTRAL_DP_TERMS = ("central-dp", "central-noise-multiplier", "central-clipping-norm")
TRAINING_TERMS = (
    "num-server-rounds",
    "local-epochs",
    "batch-size",
    "learning-rate",
    "fraction-train",
    "seed",
    "calibration-start",
    "calibration-end",
    "holdout-end",
    "max-events",
    "num-windows",
)
FEDERATION_TERMS = (
    "min-partners",
    "round-timeout",
    "aggregation",
    "trim-beta",
    "max-update-norm",
    "evaluate-every",
)
MANIFEST_SECTIONS: dict[str, tuple[str, ...]] = {
    "dp": DP_TERMS,
    "central_dp": CENTRAL_DP_TERMS,
    "training": TRAINING_TERMS,
    "federation": FEDERATION_TERMS,
}
# Run-config keys that are not terms (see the module docstring); a test checks that every key
# of ``RunSettings`` is a term or one of these, so a new key cannot be left out by mistake.
NOT_TERMS = (
    "dataset",
    "data-path",
    "columns",
    "split",
    "num-partners",
    "run-dir",
    "partners-dir",
    "schema-path",
    "epsilon-budget",
    "audit-key",
)
CALIBRATED = (
    "at each partner: the smallest sigma whose num-server-rounds * local-epochs * "
    "ceil(n / batch-size) steps at sample rate min(1, batch-size / n), composed with "
    "num-evaluations Gaussian evaluations of evaluation-noise-multiplier, spend target-epsilon at "
    "target-delta under dp-accountant; n = the partner's customers with a training window"
)
FIXED = "fixed: this noise-multiplier at every partner"


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
    """The manifest of a run with ``settings`` on this code and architecture (module doc)."""
    values: dict[str, Any] = dict(settings.to_flower())
    fixed = dp_terms(settings).noise_multiplier
    values["noise-multiplier"] = fixed
    values["noise-calibration"] = CALIBRATED if fixed is None else FIXED
    values["num-evaluations"] = settings.planned_evaluations
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "code_sha256": code_sha256,
        "architecture_sha256": architecture_sha256,
    }
    for section, terms in MANIFEST_SECTIONS.items():
        manifest[section] = {key: values[key] for key in terms}
    manifest["manifest_sha256"] = manifest_hash(manifest)
    return manifest


def manifest_settings(manifest: Mapping[str, Any]) -> RunSettings:
    """The run settings a manifest states (defaults for what is not a term): what a partner
    loads its data and resolves its sigma with when it approves.

    Raises:
        SettingsError: a term ``RunSettings`` refuses.
    """
    values: dict[str, Any] = {}
    for section in MANIFEST_SECTIONS:
        values.update(manifest[section])
    values.pop("noise-calibration", None)
    values.pop("num-evaluations", None)  # derived from num-server-rounds and evaluate-every
    values["noise-multiplier"] = values.get("noise-multiplier") or 0.0  # null: calibrated
    return RunSettings.from_mapping(values)


def run_manifest(settings: RunSettings) -> dict[str, Any]:
    """The manifest of a run with these settings, on the code this process runs."""
    from insight import CustomerSequenceModel, architecture_hash

    return build_manifest(
        settings,
        code_sha256=code_hash(),
        architecture_sha256=architecture_hash(CustomerSequenceModel()),
    )


AUDIT_SECTION = "audit"


def with_audit_log(
    manifest: Mapping[str, Any], *, origin: str, coordinator_vkey: str
) -> dict[str, Any]:
    """The manifest naming its run's audit log (the hash is unchanged; module doc)."""
    return {**manifest, AUDIT_SECTION: {"origin": origin, "coordinator_vkey": coordinator_vkey}}


def manifest_hash(manifest: Mapping[str, Any]) -> str:
    """sha256 of the manifest's canonical JSON, without its own ``manifest_sha256`` field and
    without the ``audit`` section (module doc)."""
    body = {k: v for k, v in manifest.items() if k not in ("manifest_sha256", AUDIT_SECTION)}
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
    form = data.get("format") if isinstance(data, dict) else None
    if (
        isinstance(form, str)
        and form.startswith(MANIFEST_FORMAT_PREFIX)
        and form != MANIFEST_FORMAT
    ):
        raise ManifestError(
            f"{path}: not a {MANIFEST_FORMAT} manifest but a {form} one, made by another version "
            "of fedinsight; ask the coordinator for the run's manifest made by this version "
            "(`fedinsight coordinator manifest`)"
        )
    if not isinstance(data, dict) or form != MANIFEST_FORMAT:
        raise ManifestError(f"{path}: not a {MANIFEST_FORMAT} manifest")
    missing = {"code_sha256", "architecture_sha256", *MANIFEST_SECTIONS, "manifest_sha256"} - set(
        data
    )
    if missing:
        raise ManifestError(f"{path}: manifest lacks {', '.join(sorted(missing))}")
    not_tables = sorted(name for name in MANIFEST_SECTIONS if not isinstance(data[name], dict))
    if not_tables:
        raise ManifestError(f"{path}: manifest sections {', '.join(not_tables)} are not tables")
    audit = data.get(AUDIT_SECTION)
    if audit is not None and (
        not isinstance(audit, dict)
        or set(audit) != {"origin", "coordinator_vkey"}
        or not all(isinstance(v, str) and v for v in audit.values())
    ):
        raise ManifestError(f"{path}: manifest section audit needs origin and coordinator_vkey")
    if manifest_hash(data) != data["manifest_sha256"]:
        raise ManifestError(
            f"{path}: manifest_sha256 does not match the manifest's content (edited after it "
            "was made?)"
        )
    return data


def write_manifest(manifest: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(manifest), indent=2, sort_keys=True) + "\n", encoding="utf-8")
