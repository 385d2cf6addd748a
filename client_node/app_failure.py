"""What a partner tells the coordinator when its ClientApp fails: the kind of failure, never data.

An unexpected exception (a bug, a library's error, memory) would otherwise reach the coordinator
as Flower's error reply, which carries the exception's text, and an exception's text may quote
what it failed on: a customer id, a date, an amount. The node keeps the traceback in its own log
and replies with the exception's type and its message stripped of literals: every quoted
string, and every word with a digit or an ``@`` in it, becomes ``…``.
"""

from __future__ import annotations

import re

__all__ = ["describe_failure"]

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")
_LITERAL = re.compile(r"[^\s,;:()\[\]{}<>=]*[\d@][^\s,;:()\[\]{}<>=]*")
_LONGEST = 300


def describe_failure(exc: BaseException) -> str:
    """``TypeName: message`` with every literal of the message replaced by ``…``.

    The type is the exception's class name (qualified by module outside builtins), the
    message at most 300 characters; an exception without a message gives its type alone.
    """
    kind = type(exc)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    message = " ".join(_LITERAL.sub("…", _QUOTED.sub("…", str(exc))).split())
    if len(message) > _LONGEST:
        message = message[: _LONGEST - 1] + "…"
    return f"{name}: {message}" if message else name
