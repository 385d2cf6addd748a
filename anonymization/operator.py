"""A Presidio anonymizer operator that replaces each finding with a keyed, typed token."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from presidio_anonymizer.entities import InvalidParamError
from presidio_anonymizer.operators import Operator, OperatorType

OPERATOR_NAME = "keyed_token"
TOKENIZER_PARAM = "tokenizer"
ALIASES_PARAM = "aliases"

Tokenizer = Callable[[str, str], str]
"""(entity_type, value) -> token, e.g. `Pseudonymizer.token`."""


class KeyedTokenOperator(Operator):
    """Replace a finding with `tokenizer(entity_type, value)`.

    Params: `tokenizer` (required) and `aliases`, an optional {surface text: value} map so that a
    variant ("J. Smith") gets the token of the value it stands for ("John Smith").
    """

    def operate(self, text: str | None = None, params: dict[str, Any] | None = None) -> str:
        """The token for `text`."""
        if params is None or text is None:
            raise InvalidParamError("keyed_token needs the finding's text and params")
        tokenizer: Tokenizer = params[TOKENIZER_PARAM]
        aliases: Mapping[str, str] = params.get(ALIASES_PARAM) or {}
        return tokenizer(params["entity_type"], aliases.get(text, text))

    def validate(self, params: dict[str, Any] | None = None) -> None:
        """Require a callable tokenizer."""
        if not params or not callable(params.get(TOKENIZER_PARAM)):
            raise InvalidParamError("keyed_token needs a callable 'tokenizer' param")

    def operator_name(self) -> str:
        """The name used in OperatorConfig."""
        return OPERATOR_NAME

    def operator_type(self) -> OperatorType:
        """An anonymizing (one-way) operator."""
        return OperatorType.Anonymize
