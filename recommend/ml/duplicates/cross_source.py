"""Cross-source labelled pairs: offers of one product from different shops, and "other shop" rewrites.

Two builders, both splitting by product *before* pairing (a product and all its pairs,
negatives included, sit in exactly one of train / validation / test):

* ``pricerunner_pairs``: the PriceRunner product-offer set (UCI "Product Classification and
  Clustering", Akritidis et al. 2020, CC BY 4.0; 35,311 offers of 13,233 products from 306
  merchants, 10 electronics/appliance categories). Positives: two offers of one product from
  two different merchants (real cross-shop wording); negatives: the nearest offers (char
  trigram TF-IDF) of *other* products in the same category (iPhone 8 64GB vs iPhone 8 Plus
  64GB), plus a few random same-category ones.
* ``rewrite_pairs``: catalogs with one row per product (Fashion, Beauty). Positives: a listing
  and an "other shop" rewrite of it (:func:`other_shop_rewrite`); negatives: the nearest other
  products, rewritten the same way, so the rewrite itself carries no label.
"""

from __future__ import annotations

import csv
import random
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .features import core_tokens
from .labels import LabelledPair

SPLITS = ("train", "val", "test")
MARKETING = (
    "New",
    "Original",
    "Genuine",
    "Brand New",
    "Free Shipping",
    "Best Price",
    "Latest Model",
    "with Warranty",
    "UK Stock",
    "Official",
)


def load_pricerunner(path: str | Path) -> list[dict[str, Any]]:
    """Offers of ``pricerunner_aggregate.csv`` (no header: offer id, title, merchant, cluster, label, category)."""
    offers = []
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            if len(row) < 7 or not row[0].strip().isdigit():
                continue  # a header line in some copies
            offers.append(
                {"title": row[1], "merchant": row[2], "group": row[3], "category": row[6], "canonical": row[4]}
            )
    return offers


def split_groups(groups: Sequence[str], *, seed: int, val: float = 0.2, test: float = 0.2) -> dict[str, str]:
    """Each product group to "train", "val" or "test", seeded."""
    ordered = sorted(set(groups))
    random.Random(seed).shuffle(ordered)
    n_test, n_val = int(len(ordered) * test), int(len(ordered) * val)
    return {g: "test" if i < n_test else "val" if i < n_test + n_val else "train" for i, g in enumerate(ordered)}


def nearest_in_block(texts: Sequence[str], k: int) -> np.ndarray:
    """Indices of each text's ``k`` nearest other texts by char-trigram TF-IDF cosine (-1 pads)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = len(texts)
    out = np.full((n, k), -1, dtype=np.int64)
    if n < 2:
        return out
    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), min_df=1).fit_transform(texts)
    for start in range(0, n, 1000):
        sims = (matrix[start : start + 1000] @ matrix.T).toarray()
        rows = np.arange(sims.shape[0])
        sims[rows, rows + start] = -1.0
        top = np.argsort(-sims, axis=1)[:, :k]
        out[start : start + len(top), : top.shape[1]] = top
    return out


def _negatives(
    members: list[dict[str, Any]],
    *,
    rng: random.Random,
    count: int,
    hard_share: float,
    is_negative: Callable[[dict[str, Any], dict[str, Any]], bool],
) -> list[tuple[dict[str, Any], dict[str, Any], str]]:
    """``count`` (a, b, kind) negatives inside one category block of one split."""
    if len(members) < 2 or count <= 0:
        return []
    near = nearest_in_block([m["title"] for m in members], k=10)
    out: list[tuple[dict[str, Any], dict[str, Any], str]] = []
    for _ in range(count * 3):
        if len(out) >= count:
            break
        i = rng.randrange(len(members))
        hard = rng.random() < hard_share
        options = [j for j in near[i] if j >= 0] if hard else [rng.randrange(len(members))]
        if not options:
            continue
        j = int(rng.choice(options))
        if j != i and is_negative(members[i], members[j]):
            out.append((members[i], members[j], "hard" if hard else "random"))
    return out


def pricerunner_pairs(
    offers: Sequence[Mapping[str, Any]],
    *,
    seed: int = 0,
    max_positives_per_group: int = 3,
    negatives_per_positive: float = 3.0,
    hard_share: float = 0.8,
) -> dict[str, list[LabelledPair]]:
    """Train / val / test pairs of PriceRunner offers (see the module docstring)."""
    rng = random.Random(seed)
    part_of = split_groups([o["group"] for o in offers], seed=seed)
    out: dict[str, list[LabelledPair]] = {s: [] for s in SPLITS}
    for split in SPLITS:
        blocks: dict[str, list[dict[str, Any]]] = defaultdict(list)
        by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for offer in offers:
            if part_of[offer["group"]] == split:
                record = {"title": offer["title"], "category": offer["category"], "group": offer["group"]}
                record["merchant"] = offer["merchant"]
                blocks[offer["category"]].append(record)
                by_group[offer["group"]].append(record)
        positives_per_block: dict[str, int] = defaultdict(int)
        for group in sorted(by_group):
            members = by_group[group]
            cross = [(a, b) for i, a in enumerate(members) for b in members[i + 1 :] if a["merchant"] != b["merchant"]]
            for a, b in rng.sample(cross, min(max_positives_per_group, len(cross))):
                out[split].append(_pair(a, b, 1, group, "positive", "pricerunner"))
                positives_per_block[a["category"]] += 1
        for category in sorted(blocks):
            count = int(positives_per_block[category] * negatives_per_positive)
            negatives = _negatives(
                blocks[category], rng=rng, count=count, hard_share=hard_share, is_negative=_different_group
            )
            out[split].extend(_pair(a, b, 0, a["group"], kind, "pricerunner") for a, b, kind in negatives)
    return out


def _different_group(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    # Offers of two products with the very same title (a shop's generic "built in dishwasher")
    # cannot be told apart from the record at all; they are dropped rather than taught.
    return a["group"] != b["group"] and a["title"].strip().lower() != b["title"].strip().lower()


def _pair(a: Mapping[str, Any], b: Mapping[str, Any], label: int, group: str, kind: str, source: str) -> LabelledPair:
    keep = ("title", "brand", "price", "description", "category")
    return LabelledPair(
        {k: a[k] for k in keep if a.get(k)}, {k: b[k] for k in keep if b.get(k)}, label, group, kind, source
    )


def rewrite_pairs(
    products: Sequence[Mapping[str, Any]],
    *,
    source: str,
    seed: int = 0,
    positives: int = 1500,
    negatives_per_positive: float = 3.0,
    hard_share: float = 0.8,
) -> dict[str, list[LabelledPair]]:
    """Train / val / test pairs from a one-row-per-product catalog (see the module docstring).

    ``products`` need "title", "category" and a unique "group"; "brand", "price" and
    "description" are used when present.
    """
    rng = random.Random(seed)
    part_of = split_groups([p["group"] for p in products], seed=seed)
    out: dict[str, list[LabelledPair]] = {s: [] for s in SPLITS}
    share = {"train": 0.6, "val": 0.2, "test": 0.2}
    for split in SPLITS:
        members = [dict(p) for p in products if part_of[p["group"]] == split]
        rng.shuffle(members)
        wanted = int(positives * share[split])
        for product in members[:wanted]:
            out[split].append(_pair(product, other_shop_rewrite(product, rng), 1, product["group"], "positive", source))
        blocks: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for product in members:
            blocks[str(product.get("category") or "")].append(product)
        for category in sorted(blocks):
            count = int(wanted * negatives_per_positive * len(blocks[category]) / max(len(members), 1))
            negatives = _negatives(
                blocks[category], rng=rng, count=count, hard_share=hard_share, is_negative=_different_product
            )
            out[split].extend(
                _pair(a, other_shop_rewrite(b, rng), 0, a["group"], kind, source) for a, b, kind in negatives
            )
    return out


def _different_product(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    # Same words up to colour/size are variants (the project's duplicate definition), not negatives.
    return core_tokens(a.get("title")) != core_tokens(b.get("title"))


_UNIT_SWAPS = (
    (re.compile(r"\b(\d+)\s?TB\b", re.I), lambda m: f"{int(m.group(1)) * 1000}GB"),
    (re.compile(r"\b(\d+)000\s?GB\b", re.I), lambda m: f"{m.group(1)} TB"),
    (re.compile(r"\b(\d+)\s?GB\b", re.I), lambda m: f"{m.group(1)} GB"),
    (re.compile(r"\b(\d{3,})\s?ml\b", re.I), lambda m: f"{int(m.group(1)) / 1000:g} L"),
    (re.compile(r"\b(\d+(?:\.\d+)?)\s?(?:inch|in|\")", re.I), lambda m: f'{m.group(1)}"'),
)
_CODE = re.compile(r"\b([A-Za-z]{1,4})-?(\d{2,}[A-Za-z0-9]*)\b")


def other_shop_rewrite(product: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    """The listing as another shop might write it (seeded): see the module docstring."""
    p = dict(product)
    title = str(p.get("title") or "")
    brand = str(p.get("brand") or "")
    if brand and title.lower().startswith(brand.lower()) and rng.random() < 0.4:
        title = title[len(brand) :].strip(" -,")
        if rng.random() < 0.5:
            title = f"{title} by {brand}"
    # Model numbers re-formatted: DAV-HDX275 <-> DAVHDX275 <-> DAV HDX275.
    if rng.random() < 0.6:
        joiner = rng.choice(["", "-", " "])
        title = _CODE.sub(lambda m: f"{m.group(1)}{joiner}{m.group(2)}", title)
    for pattern, swap in _UNIT_SWAPS:
        if rng.random() < 0.5:
            title = pattern.sub(swap, title)
    words = title.split()
    if len(words) > 3 and rng.random() < 0.5:
        i = rng.randrange(1, len(words))
        words = words[i:] + words[:i] if rng.random() < 0.3 else _swap_neighbours(words, rng)
    if rng.random() < 0.4:
        words.insert(rng.choice([0, len(words)]), rng.choice(MARKETING))
    title = " ".join(words)
    if rng.random() < 0.25:
        title = title.lower() if rng.random() < 0.5 else title.upper()
    p["title"] = title
    if brand and rng.random() < 0.3:
        p["brand"] = rng.choice(["", brand.upper(), f"{brand} Inc.", brand.lower()])
    if p.get("price") and rng.random() < 0.8:
        p["price"] = round(float(p["price"]) * rng.uniform(0.85, 1.15), 2)
    if p.get("category") and rng.random() < 0.5:
        # Another shop's tree: often only the leaf matches.
        p["category"] = str(p["category"]).split(">")[-1].strip()
    if p.get("description") and rng.random() < 0.5:
        # Shops often keep only the opening of a manufacturer description.
        p["description"] = str(p["description"])[: max(len(str(p["description"])) // 2, 80)]
    return p


def _swap_neighbours(words: list[str], rng: random.Random) -> list[str]:
    i = rng.randrange(len(words) - 1)
    words = list(words)
    words[i], words[i + 1] = words[i + 1], words[i]
    return words
