"""Settings of the audit service, read from ``FEDINSIGHT_AUDIT_*`` environment variables.

Notes:
    A bearer token, when set, must be at least 32 characters of some variety; obvious
    defaults ("changeme", "secret", a repeated character) are refused at startup.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["AuditServiceSettings"]

_MIN_TOKEN = 32
_WEAK = (
    "changeme",
    "change-me",
    "secret",
    "password",
    "token",
    "default",
    "admin",
    "example",
    "test",
    "fedinsight",
    "1234",
    "xxxx",
)


class AuditServiceSettings(BaseSettings):
    """Service settings: ``FEDINSIGHT_AUDIT_TOKEN``, ``FEDINSIGHT_AUDIT_MAX_ENTRIES``."""

    model_config = SettingsConfigDict(
        env_prefix="FEDINSIGHT_AUDIT_", extra="ignore", hide_input_in_errors=True
    )

    token: SecretStr | None = Field(
        default=None, description="Bearer token required on every data route; none: open."
    )
    max_entries: int = Field(
        default=1000, ge=1, le=100_000, description="Most entries one request may return."
    )

    @field_validator("token")
    @classmethod
    def _refuse_weak_token(cls, token: SecretStr | None) -> SecretStr | None:
        if token is None:
            return None
        value = token.get_secret_value()
        lowered = value.lower()
        if len(value) < _MIN_TOKEN:
            raise ValueError(f"the audit token must have at least {_MIN_TOKEN} characters")
        if len(set(value)) < 10 or any(word in lowered for word in _WEAK):
            raise ValueError(
                "the audit token looks like a default; generate one, e.g. "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return token
