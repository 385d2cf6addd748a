"""Which columns of a partner's table hold what: the customer id, identifiers, free text, consent.

A schema file is TOML or JSON with these keys (only `customer_id` is required):

    customer_id = "customer_id"          # the column holding the partner's customer id
    text_columns = ["note"]              # free text: pseudonymized with Presidio
    consent_column = "consent"           # optional: rows without consent are dropped
    keep_pseudonymized = ["email"]       # identifier columns kept (as pseudonyms), not dropped

    [identifier_columns]                 # column = kind: name, email, phone, address or other
    name = "name"
    email = "email"
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anonymization.errors import SchemaError

IDENTIFIER_COLUMN_KINDS = ("address", "email", "name", "other", "phone")
_KEYS = frozenset(
    {"customer_id", "identifier_columns", "text_columns", "consent_column", "keep_pseudonymized"}
)


@dataclass(frozen=True)
class PartnerSchema:
    """Column roles of one partner's table.

    `identifier_columns` maps a column to its kind (see IDENTIFIER_COLUMN_KINDS). Identifier
    columns are dropped from the pseudonymized table unless listed in `keep_pseudonymized`, in
    which case their values are replaced by keyed pseudonyms.
    """

    customer_id: str
    identifier_columns: Mapping[str, str] = field(default_factory=dict)
    text_columns: tuple[str, ...] = ()
    consent_column: str | None = None
    keep_pseudonymized: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for column, kind in self.identifier_columns.items():
            if kind not in IDENTIFIER_COLUMN_KINDS:
                raise SchemaError(
                    f"identifier column '{column}' has kind '{kind}'; "
                    f"kinds are {', '.join(IDENTIFIER_COLUMN_KINDS)}"
                )
        for column in self.keep_pseudonymized:
            if column not in self.identifier_columns:
                raise SchemaError(
                    f"keep_pseudonymized names '{column}', which is not an identifier column"
                )
        roles: dict[str, str] = {self.customer_id: "customer_id"}
        named = [(c, "identifier") for c in self.identifier_columns]
        named += [(c, "text") for c in self.text_columns]
        if self.consent_column is not None:
            named.append((self.consent_column, "consent"))
        for column, role in named:
            if column in roles:
                raise SchemaError(f"column '{column}' is both {roles[column]} and {role}")
            roles[column] = role

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the schema names."""
        named = [self.customer_id, *self.identifier_columns, *self.text_columns]
        if self.consent_column is not None:
            named.append(self.consent_column)
        return tuple(named)

    def check_columns(self, columns: Iterable[object], *, source: str = "table") -> None:
        """Raise SchemaError naming the first schema column missing from `columns`."""
        present = {str(c) for c in columns}
        for column in self.columns:
            if column not in present:
                raise SchemaError(
                    f"{source}: the schema names column '{column}', which the table does not "
                    f"have (columns: {', '.join(sorted(present))})"
                )

    def to_dict(self) -> dict[str, Any]:
        """The file form of the schema."""
        data: dict[str, Any] = {
            "customer_id": self.customer_id,
            "identifier_columns": dict(self.identifier_columns),
            "text_columns": list(self.text_columns),
            "keep_pseudonymized": list(self.keep_pseudonymized),
        }
        if self.consent_column is not None:
            data["consent_column"] = self.consent_column
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "schema") -> PartnerSchema:
        """Build from the file form; SchemaError names the offending key."""
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            raise SchemaError(
                f"{source}: unknown key '{unknown[0]}'; keys are {', '.join(sorted(_KEYS))}"
            )
        if not isinstance(data.get("customer_id"), str) or not data["customer_id"]:
            raise SchemaError(f"{source}: 'customer_id' must name the customer id column")
        identifiers = data.get("identifier_columns", {})
        if not isinstance(identifiers, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in identifiers.items()
        ):
            raise SchemaError(f"{source}: 'identifier_columns' must map column names to kinds")
        consent = data.get("consent_column")
        if consent is not None and not isinstance(consent, str):
            raise SchemaError(f"{source}: 'consent_column' must be a column name")
        try:
            return cls(
                customer_id=data["customer_id"],
                identifier_columns=dict(identifiers),
                text_columns=_names(data, "text_columns", source),
                consent_column=consent,
                keep_pseudonymized=_names(data, "keep_pseudonymized", source),
            )
        except SchemaError as err:
            raise SchemaError(f"{source}: {err}") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PartnerSchema:
        """Read a .toml or .json schema file."""
        source = Path(path)
        try:
            raw = source.read_bytes()
        except FileNotFoundError as err:
            raise SchemaError(f"{source}: schema file not found") from err
        except OSError as err:
            raise SchemaError(f"{source}: cannot read schema file ({err.strerror})") from err
        try:
            if source.suffix.lower() == ".json":
                data = json.loads(raw)
            else:
                data = tomllib.loads(raw.decode("utf-8"))
        except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise SchemaError(f"{source}: not a valid schema file ({err})") from err
        if not isinstance(data, dict):
            raise SchemaError(f"{source}: a schema file must hold a table of keys")
        return cls.from_dict(data, source=str(source))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write as JSON (for .json) or TOML."""
        target = Path(path)
        if target.suffix.lower() == ".json":
            target.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
            return
        target.write_text(_to_toml(self.to_dict()), encoding="utf-8")


def _names(data: Mapping[str, Any], key: str, source: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SchemaError(f"{source}: '{key}' must be a list of column names")
    return tuple(value)


def _to_toml(data: Mapping[str, Any]) -> str:
    lines = []
    for key, value in data.items():
        if isinstance(value, str):
            lines.append(f"{key} = {json.dumps(value)}")
        elif isinstance(value, list):
            lines.append(f"{key} = [{', '.join(json.dumps(v) for v in value)}]")
    lines.append("")
    lines.append("[identifier_columns]")
    for column, kind in data["identifier_columns"].items():
        lines.append(f"{json.dumps(column)} = {json.dumps(kind)}")
    return "\n".join(lines) + "\n"
