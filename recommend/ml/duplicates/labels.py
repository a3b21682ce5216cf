"""Labelled duplicate pairs: the Flipkart variant proxy and the group-aware train/val/test split.

Flipkart proxy (``build_labelled_pairs_from_flipkart``): the sample has no duplicate labels
and its ``pid`` is unique per row, so rows with the same normalised ``product_name`` and the
same category path (without the leaf) are listings of one product (real variant listings:
different pids, prices, colours/sizes). Their names are identical, which would make "title
equal" a perfect but useless rule, so one side of *every* pair (positive or negative alike,
so the rewrite itself carries no label) gets a seeded rewrite of the kind seen across
marketplaces. Negatives: random pairs (easy) and hard negatives from the same level-3
category, same brand where possible. Positives are real, the wording noise is synthetic.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .features import COLOURS, to_price, tokens


@dataclass
class LabelledPair:
    a: dict[str, Any]
    b: dict[str, Any]
    label: int
    group: str  # product group of ``a``; split on it so no product is in two splits
    kind: str  # "positive", "random" or "hard"
    source: str = ""  # the data set the pair comes from (benchmarks weigh sources equally)


def _flipkart_path(tree: str) -> list[str]:
    try:
        parsed = json.loads(tree)
        return [p.strip() for p in parsed[0].split(">>")] if parsed else []
    except (TypeError, ValueError, IndexError):
        return []


def flipkart_product(row: Mapping[str, Any]) -> dict[str, Any]:
    """A Flipkart CSV row as a scorer product (category = first 3 levels of the tree)."""
    path = _flipkart_path(row.get("product_category_tree", ""))
    return {
        "title": row.get("product_name", ""),
        "brand": row.get("brand", ""),
        "price": to_price(row.get("discounted_price")) or to_price(row.get("retail_price")),
        "category": " >> ".join(path[:3]),
        "leaf": path[-1] if len(path) > 1 else "",
    }


def reword(product: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    """A re-worded copy of a listing (see the module docstring); ``rng`` makes it repeatable."""
    p = dict(product)
    title, leaf = str(p.get("title") or ""), str(p.get("leaf") or "")
    if len(leaf) > len(title) and leaf.lower().startswith(title.lower()) and rng.random() < 0.7:
        title = leaf  # real longer wording from the data, e.g. "... Vase (6 inch, Black)"
    brand = str(p.get("brand") or "")
    if brand and title.lower().startswith(brand.lower() + " ") and rng.random() < 0.3:
        title = title[len(brand) + 1 :]
    words = title.split()
    if len(words) > 3 and rng.random() < 0.3:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    title = " ".join(words)
    if rng.random() < 0.35:
        colour = rng.choice(sorted(COLOURS)).title()
        title += rng.choice(
            [f" ({colour})", f" ({colour}, {rng.choice(['S', 'M', 'L', 'XL'])})", " - Pack of 2", f" {colour}"]
        )
    if rng.random() < 0.2:
        title = title.lower() if rng.random() < 0.5 else title.upper()
    if len(title) > 30 and rng.random() < 0.15:
        title = title[: int(len(title) * 0.7)].rstrip() + "..."
    p["title"] = title
    return p


def build_labelled_pairs_from_flipkart(
    rows: Sequence[Mapping[str, Any]],
    *,
    seed: int = 0,
    max_positives_per_group: int = 3,
    random_negatives_per_positive: float = 1.0,
    hard_negatives_per_positive: float = 1.5,
) -> list[LabelledPair]:
    """Labelled duplicate / non-duplicate pairs from Flipkart rows (see module docstring)."""
    rng = random.Random(seed)
    products = [flipkart_product(r) for r in rows]
    keys = []
    for r, p in zip(rows, products, strict=True):
        path = _flipkart_path(r.get("product_category_tree", ""))
        keys.append(" ".join(tokens(p["title"])) + " | " + " >> ".join(path[:-1]).lower())
    groups: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        groups[k].append(i)
    by_cat: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(products):
        if p["category"]:
            by_cat[p["category"]].append(i)

    pairs: list[LabelledPair] = []
    for key in sorted(groups):
        members = groups[key]
        if len(members) < 2:
            continue
        candidates = [(members[i], members[j]) for i in range(len(members)) for j in range(i + 1, len(members))]
        for i, j in rng.sample(candidates, min(max_positives_per_group, len(candidates))):
            pairs.append(LabelledPair(products[i], reword(products[j], rng), 1, key, "positive"))
    n_pos = len(pairs)
    n = len(products)
    for _ in range(int(n_pos * random_negatives_per_positive)):
        i, j = rng.randrange(n), rng.randrange(n)
        if keys[i] != keys[j]:
            pairs.append(LabelledPair(products[i], reword(products[j], rng), 0, keys[i], "random"))
    cats = [c for c in sorted(by_cat) if len(by_cat[c]) > 1]
    for _ in range(int(n_pos * hard_negatives_per_positive)):
        members = by_cat[rng.choice(cats)]
        i = rng.choice(members)
        same_brand = [
            m
            for m in members
            if products[m]["brand"] and products[m]["brand"] == products[i]["brand"] and keys[m] != keys[i]
        ]
        pool = same_brand if same_brand and rng.random() < 0.7 else members
        j = rng.choice(pool)
        if keys[i] != keys[j]:
            pairs.append(LabelledPair(products[i], reword(products[j], rng), 0, keys[i], "hard"))
    return pairs


def split_by_group(
    pairs: Sequence[LabelledPair], val: float = 0.2, test: float = 0.2, seed: int = 0
) -> tuple[list, list, list]:
    """Train/val/test split with every product group in exactly one part."""
    groups = sorted({p.group for p in pairs})
    random.Random(seed).shuffle(groups)
    n_test, n_val = int(len(groups) * test), int(len(groups) * val)
    part = {g: 2 for g in groups[:n_test]} | {g: 1 for g in groups[n_test : n_test + n_val]}
    out: tuple[list, list, list] = ([], [], [])
    for p in pairs:
        out[part.get(p.group, 0)].append(p)
    return out
