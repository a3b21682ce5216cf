"""The Flipkart sample's column formats, parsed in one place (no Django import).

The importer preset, the benchmarks and the ML code all read `product_category_tree`
(`["A >> B >> C >> <title>"]`) and `product_specifications` (a Ruby-hash-like string); they
call these functions instead of splitting on ">>" themselves.
"""

import json

from catalog.brand_rules import KnownBrands, brand_is_suspect

TREE_SEPARATOR = ">>"


def flipkart_category_parts(tree: str) -> list[str]:
    """Every level of the first path in a `product_category_tree` value (the last is often the title)."""
    tree = (tree or "").strip()
    try:
        paths = json.loads(tree) if tree.startswith("[") else [tree]
    except json.JSONDecodeError:
        paths = [tree.strip('[]"')]
    first = paths[0] if paths and isinstance(paths[0], str) else ""
    return [part.strip() for part in first.split(TREE_SEPARATOR) if part.strip()]


def _same_text(a: str, b: str) -> bool:
    a, b = a.casefold().rstrip(". "), b.casefold().rstrip(". ")
    return bool(a) and (a == b or b.startswith(a) or a.startswith(b))


def flipkart_category_path(tree: str, title: str) -> list[str]:
    """The category path without its last element when that only repeats the title (often cut with '...')."""
    parts = flipkart_category_parts(tree)
    if parts and _same_text(parts[-1], title):
        parts = parts[:-1]
    return parts


def flipkart_specifications(text: str) -> dict[str, str]:
    """Parse the Ruby-hash-like `{"product_specification"=>[{"key"=>..,"value"=>..}]}` column."""
    if not text or "=>" not in text:
        return {}
    try:
        data = json.loads(text.replace("=>", ":"))
    except json.JSONDecodeError:
        return {}
    specs = data.get("product_specification") if isinstance(data, dict) else None
    if isinstance(specs, dict):
        specs = [specs]
    result: dict[str, str] = {}
    for spec in specs or []:
        if isinstance(spec, dict) and spec.get("key") and spec.get("value"):
            result[str(spec["key"]).strip()[:100]] = str(spec["value"]).strip()
    return result


def flipkart_brand(value: str, title: str, known: KnownBrands) -> tuple[str, str]:
    """(brand, note) for a row: the brand column unless it holds a colour or fit, else the title's brand.

    note is "" (column used), "from_title" (column empty or rejected, brand found in the title),
    or "rejected" (column rejected and no known brand starts the title).
    """
    value = (value or "").strip()
    if value and not brand_is_suspect(value):
        return value, ""
    from_title = known.in_title(title)
    if from_title:
        return from_title, "from_title"
    return "", "rejected" if value else ""
