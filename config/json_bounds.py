"""JSON read from outside with a bound on nesting: Python's decoder recurses once per level, so a body of
10,000 brackets raises RecursionError (a 500, or an importer traceback) instead of a clear refusal.

`json_loads_bounded` is the one place that reads such text: the API's JSON parser (config/parsers.py) and the
importer's JSON lines use it. Nothing legitimate here nests deeper than a category path or a taxonomy tree.
"""

import json
from typing import Any

from django.conf import settings


class JSONTooDeep(ValueError):
    """The text nests arrays and objects more deeply than JSON_MAX_DEPTH."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"JSON nested more than {limit} levels deep")


def json_max_depth() -> int:
    return int(settings.JSON_MAX_DEPTH)


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels (walked with a stack, never by recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def json_loads_bounded(text: str | bytes, **kwargs: Any) -> Any:
    """`json.loads`, raising JSONTooDeep (a ValueError) for nesting past JSON_MAX_DEPTH."""
    limit = json_max_depth()
    try:
        value = json.loads(text, **kwargs)
    except RecursionError:
        raise JSONTooDeep(limit) from None
    if json_depth_exceeds(value, limit):
        raise JSONTooDeep(limit)
    return value
