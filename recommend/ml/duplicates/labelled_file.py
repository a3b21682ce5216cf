"""Reading labelled pairs: JSONL lines ``{"left": {...}, "right": {...}, "label": 0|1}``, checked row by row.

Every problem is reported as ``file: row N, column 'x': reason`` and the whole file is
rejected (nothing is trained on half a file).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

RECORD_FIELDS = ("title", "brand", "price", "description", "category")
MAX_ERRORS = 20


class LabelledFileError(ValueError):
    """A labelled file with bad rows; ``errors`` lists them (at most ``MAX_ERRORS``)."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


Pair = tuple[dict[str, Any], dict[str, Any], int]


def clean_record(value: Any, *, where: str, side: str) -> tuple[dict[str, Any] | None, str | None]:
    """A scorer record from one side of a row, or the reason it is unusable."""
    if not isinstance(value, dict):
        return None, f"{where}, column '{side}': must be an object with title, brand, price, description, category"
    record = {key: value[key] for key in RECORD_FIELDS if value.get(key) not in (None, "")}
    if not str(record.get("title") or "").strip():
        return None, f"{where}, column '{side}.title': is missing or empty"
    if "price" in record:
        try:
            price = float(record["price"])
        except (TypeError, ValueError):
            return None, f"{where}, column '{side}.price': {record['price']!r} is not a number"
        if not math.isfinite(price) or price < 0:
            return None, f"{where}, column '{side}.price': {record['price']!r} is not a price"
        record["price"] = price
    if isinstance(record.get("category"), str):
        record["category"] = [part.strip() for part in record["category"].split(">") if part.strip()]
    return record, None


def _label(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    if isinstance(value, str) and value.strip() in ("0", "1"):
        return int(value.strip())
    return None


def parse_labelled_lines(lines: Iterable[str], *, name: str) -> list[Pair]:
    """All (left, right, label) rows of a labelled JSONL file, or :class:`LabelledFileError`."""
    pairs: list[Pair] = []
    errors: list[str] = []
    for row, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{name}: row {row}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            errors.append(f"{where}, column '-': invalid JSON ({error.msg})")
            continue
        if not isinstance(data, dict):
            errors.append(f"{where}, column '-': expected an object with 'left', 'right' and 'label'")
            continue
        left, left_error = clean_record(data.get("left"), where=where, side="left")
        right, right_error = clean_record(data.get("right"), where=where, side="right")
        label = _label(data.get("label"))
        errors += [e for e in (left_error, right_error) if e]
        if label is None:
            errors.append(f"{where}, column 'label': {data.get('label')!r} is not 0 or 1")
        if left is not None and right is not None and label is not None:
            pairs.append((left, right, label))
        if len(errors) >= MAX_ERRORS:
            errors.append(f"{name}: stopped after {MAX_ERRORS} errors")
            break
    if errors:
        raise LabelledFileError(errors)
    if not pairs:
        raise LabelledFileError([f"{name}: no labelled rows"])
    return pairs
