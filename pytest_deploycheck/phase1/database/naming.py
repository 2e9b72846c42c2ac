"""Names: snake_case columns for camelCase properties, tables paired with schemas by name.

Also the "did you mean" suggestion that findings about a misspelt name end with.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from .settings import TableMapping


def snake_case(name: str) -> str:
    """``providerId`` -> ``provider_id``, ``HTTPStatus`` -> ``http_status``."""
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    return text.replace("-", "_").lower()


def schema_name_for(table: str) -> str:
    """The component name a table would have by convention: time_slots -> TimeSlot,
    category_groups -> CategoryGroup, __meta__ -> Meta."""
    words = [word for word in re.split(r"[_\W]+", _singular(table)) if word]
    return "".join(word[:1].upper() + word[1:] for word in words) or table


def _singular(word: str) -> str:
    lower = word.lower()
    if lower.endswith("ies") and len(lower) > 3:
        return word[:-3] + "y"
    if lower.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if lower.endswith("s") and not lower.endswith("ss"):
        return word[:-1]
    return word


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def infer_tables(
    tables: Sequence[str], schemas: Sequence[str]
) -> tuple[list[TableMapping], list[str]]:
    """Pair tables with component schemas by name (``time_slots`` -> ``TimeSlot``).

    Returns the pairs and the tables nothing matched.
    """
    by_name: dict[str, list[str]] = {}
    for schema in schemas:
        by_name.setdefault(_squash(schema), []).append(schema)
    pairs, unpaired = [], []
    for table in tables:
        candidates = by_name.get(_squash(_singular(table))) or by_name.get(_squash(table)) or []
        if len(candidates) == 1:
            pairs.append(TableMapping(table, candidates[0]))
        else:
            unpaired.append(table)
    return pairs, unpaired


def suggest(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
