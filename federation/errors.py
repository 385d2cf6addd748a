"""Errors of what both ends of the Flower wire share: settings, manifests, launching Flower."""

from __future__ import annotations

__all__ = ["FederationError", "LaunchError", "ManifestError", "SettingsError", "WireError"]


class FederationError(Exception):
    """Base class of the federation package's errors."""


class SettingsError(FederationError):
    """A run-config value is missing its type, out of range or inconsistent with another; the
    message names the kebab-case key."""


class ManifestError(FederationError):
    """A run manifest file is unreadable, of another format, incomplete or edited after it was
    made; the message names the file."""


class LaunchError(FederationError):
    """A Flower process (SuperLink, ``flwr run``, a federation's commands) did not start, did
    not finish in time or exited with an error; the message names the log to read."""


class WireError(FederationError, ValueError):
    """An ArrayRecord that is not the model: arrays of other names, length or dtype, or bytes
    that are not an array (``federation.wire``)."""
