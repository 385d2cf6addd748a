"""Column names a table's header holds: each name once."""

from __future__ import annotations

from collections.abc import Collection

from insight.tables.lines import located

__all__ = ["check_unique_names"]


def check_unique_names(
    names: list[str], source: str, known: Collection[str], *, line: int | None
) -> None:
    """Refuse a repeated column name, shown only when it is in `known` (else by position).

    Raises:
        DataError: naming the two positions (1-based) of the first repeated name.
    """
    first: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name not in first:
            first[name] = position
            continue
        what = f"columns {first[name]} and {position} have the same name"
        if name in known:
            what = f"column name '{name}' appears twice (columns {first[name]} and {position})"
        raise located(source, what, line=line)
