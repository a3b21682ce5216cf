"""The synthetic catalogue of benchmarks/scale.py: vocabulary, products, COPY helpers, table sizes."""

from __future__ import annotations

import itertools
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from common import ROOT

sys.path.insert(0, str(ROOT))  # similarity_ann imports the project's ANN index
from similarity_ann import synthetic_vectors_with_topics

PG = "postgres://postgres@127.0.0.1:5432"
SECRET = "scale-bench-only"

COLOURS = ["black", "white", "blue", "red", "green", "grey", "pink", "navy", "brown", "beige", "yellow", "purple",
           "orange", "maroon", "silver", "golden"]  # fmt: skip
MATERIALS = ["cotton", "leather", "steel", "wooden", "silk", "plastic", "ceramic", "glass", "denim", "wool",
             "rubber", "aluminium"]  # fmt: skip
QUALIFIERS = ["casual", "formal", "sports", "kids", "premium", "classic", "travel", "smart", "compact", "outdoor",
              "slim", "party"]  # fmt: skip
DEPARTMENTS = {
    "Clothing": ["shirts", "kurtas", "jeans", "dresses", "jackets", "sarees"],
    "Footwear": ["shoes", "sandals", "sneakers", "boots", "slippers", "heels"],
    "Watches": ["watches", "smartwatches", "clocks", "straps", "timers", "chronographs"],
    "Bags": ["backpacks", "handbags", "wallets", "suitcases", "pouches", "duffels"],
    "Jewellery": ["rings", "necklaces", "earrings", "bracelets", "pendants", "anklets"],
    "Home": ["bedsheets", "curtains", "cushions", "towels", "rugs", "blankets"],
    "Kitchen": ["mugs", "bottles", "pans", "knives", "plates", "jars"],
    "Mobiles": ["phones", "chargers", "cables", "earphones", "speakers", "powerbanks"],
    "Computers": ["laptops", "keyboards", "mice", "monitors", "routers", "drives"],
    "Beauty": ["lipsticks", "perfumes", "shampoos", "creams", "serums", "trimmers"],
    "Toys": ["puzzles", "dolls", "blocks", "cars", "games", "kites"],
    "Sports": ["bats", "balls", "rackets", "gloves", "helmets", "mats"],
}
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
TOPICS = 1000  # the vector topics of synthetic_vectors_with_topics
TOPIC_WORDS = 3


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def proc_status_mb(field: str, pid: int | str = "self") -> float:
    """VmRSS (now) or VmHWM (peak) of a process, in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def percentiles(values: list[float]) -> tuple[float, float]:
    return round(float(np.percentile(values, 50)), 3), round(float(np.percentile(values, 99)), 3)


# --- the synthetic catalogue --------------------------------------------------------------------------------


@dataclass
class Catalogue:
    vectors: np.ndarray  # (n, 384) unit rows, row i is product i + 1
    leaves: list[tuple[str, str, str]]  # (department, product type, qualifier)
    leaf_of: np.ndarray
    brands: list[str]
    brand_of: np.ndarray
    titles: list[str]
    prices: np.ndarray
    codes: list[str]
    topic_words: list[list[str]]


def pseudo_words(rng: np.random.Generator, count: int) -> list[str]:
    """Distinct made-up words of 2-3 syllables (topic words and brand names: the long tail of a vocabulary)."""
    words: dict[str, None] = {}
    while len(words) < count:
        syllables = rng.integers(0, len(SYLLABLES), size=rng.integers(2, 4))
        words["".join(SYLLABLES[s] for s in syllables)] = None
    return list(words)


def synthetic_catalogue(n: int, seed: int = 0) -> Catalogue:
    vectors, topics = synthetic_vectors_with_topics(n, 384, seed)
    rng = np.random.default_rng(seed + 1)
    # Leaves: runs of the products sorted by vector topic, sizes spread like a real tree's (lognormal).
    n_leaves = int(np.clip(n // 3000, 16, 400))
    sizes = rng.lognormal(0.0, 0.6, n_leaves)
    cuts = np.round(np.cumsum(sizes) / sizes.sum() * n).astype(np.int64)
    order = np.argsort(topics, kind="stable")
    leaf_of = np.empty(n, dtype=np.int64)
    leaf_of[order] = np.minimum(np.searchsorted(cuts, np.arange(n), side="right"), n_leaves - 1)
    kinds = [
        (dept, noun, qualifier) for dept, nouns in DEPARTMENTS.items() for noun in nouns for qualifier in QUALIFIERS
    ]
    leaves = [kinds[i] for i in rng.permutation(len(kinds))[:n_leaves]]

    n_brands = int(np.clip(n // 200, 50, 5000))
    words = pseudo_words(rng, TOPICS * TOPIC_WORDS + n_brands)
    topic_words = [words[t * TOPIC_WORDS : (t + 1) * TOPIC_WORDS] for t in range(TOPICS)]
    brands = [w.capitalize() for w in words[TOPICS * TOPIC_WORDS :]]
    brand_weights = 1.0 / (np.arange(n_brands) + 5.0)
    topic_brands = rng.choice(n_brands, size=(TOPICS, 8), p=brand_weights / brand_weights.sum())
    brand_of = topic_brands[topics, rng.integers(0, 8, n)]

    colour_weights = 1.0 / (np.arange(len(COLOURS)) + 2.0)
    colour = np.where(rng.random(n) < 0.5, rng.choice(len(COLOURS), n, p=colour_weights / colour_weights.sum()), -1)
    material = np.where(rng.random(n) < 0.35, rng.integers(0, len(MATERIALS), n), -1)
    with_qualifier = rng.random(n) < 0.4
    topic_word_count = rng.integers(1, 3, n)
    topic_word_pick = rng.integers(0, TOPIC_WORDS, (n, 2))
    letters = rng.integers(0, 26, (n, 2))
    numbers = rng.integers(100, 10000, n)
    leaf_price = rng.lognormal(6.5, 1.0, n_leaves)
    prices = np.round(leaf_price[leaf_of] * rng.lognormal(0.0, 0.4, n), 2)
    titles, codes = [], []
    for i in range(n):
        _dept, noun, qualifier = leaves[leaf_of[i]]
        own = topic_words[topics[i]]
        code = f"{chr(65 + letters[i, 0])}{chr(65 + letters[i, 1])}{numbers[i]}"
        parts = [brands[brand_of[i]], *(own[topic_word_pick[i, j]].capitalize() for j in range(topic_word_count[i]))]
        if with_qualifier[i]:
            parts.append(qualifier.capitalize())
        parts.append(noun.capitalize())
        if colour[i] >= 0:
            parts.append(COLOURS[colour[i]].capitalize())
        if material[i] >= 0:
            parts.append(MATERIALS[material[i]].capitalize())
        parts.append(code)
        titles.append(" ".join(parts))
        codes.append(code)
    return Catalogue(vectors, leaves, leaf_of, brands, brand_of, titles, prices, codes, topic_words)


def search_queries(catalogue: Catalogue, count: int, seed: int) -> list[str]:
    """Distinct shopper-like queries: a colour, material, qualifier, brand or topic word with a product type,
    a single topic word, or a model code."""
    rng = np.random.default_rng(seed)
    nouns = [noun for nouns in DEPARTMENTS.values() for noun in nouns]
    seen: dict[str, None] = {}
    for _ in range(count * 20):
        if len(seen) >= count:
            break
        noun = nouns[rng.integers(len(nouns))]
        roll = rng.integers(7)
        if roll == 0:
            query = f"{COLOURS[rng.integers(len(COLOURS))]} {noun}"
        elif roll == 1:
            query = f"{QUALIFIERS[rng.integers(len(QUALIFIERS))]} {noun}"
        elif roll == 2:
            query = f"{catalogue.brands[rng.integers(len(catalogue.brands))].lower()} {noun}"
        elif roll == 3:
            query = f"{catalogue.topic_words[rng.integers(TOPICS)][rng.integers(TOPIC_WORDS)]} {noun}"
        elif roll == 4:
            query = f"{MATERIALS[rng.integers(len(MATERIALS))]} {noun} {COLOURS[rng.integers(len(COLOURS))]}"
        elif roll == 5:
            query = catalogue.topic_words[rng.integers(TOPICS)][rng.integers(TOPIC_WORDS)]
        else:
            query = catalogue.codes[rng.integers(len(catalogue.codes))].lower()
        seen[query] = None
    return list(seen)


# --- database -------------------------------------------------------------------------------------------------


def admin_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def database_exists(name: str) -> bool:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def drop_database(name: str) -> None:
    admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")
    return str(value)


def copy_rows(table: str, columns: tuple[str, ...], rows: Any, chunk: int = 50_000) -> int:
    """COPY rows (tuples) into a table through Django's connection, as text in big chunks (psycopg's
    per-row write_row costs ~25 us a row: minutes at 20M rows). Returns the count."""
    from django.db import connection

    written, rows = 0, iter(rows)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        while batch := list(itertools.islice(rows, chunk)):
            copy.write("".join("\t".join(map(copy_text, row)) + "\n" for row in batch))
            written += len(batch)
    return written


def set_sequence(table: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")


def fill_catalogue(catalogue: Catalogue) -> None:
    """Category tree through the ORM (a few hundred nodes), brands and products with COPY."""
    from django.utils import timezone
    from django.utils.text import slugify

    from taxonomy.models import Category

    leaf_ids: list[int] = []
    with Category.objects.delay_mptt_updates():
        departments: dict[str, Category] = {}
        types: dict[tuple[str, str], Category] = {}
        for dept, noun, qualifier in catalogue.leaves:
            if dept not in departments:
                departments[dept] = Category.objects.create(name=dept, slug=slugify(dept), source="imported")
            if (dept, noun) not in types:
                types[dept, noun] = Category.objects.create(
                    name=noun.capitalize(), slug=noun, parent=departments[dept], source="imported"
                )
            name = f"{qualifier.capitalize()} {noun}"
            leaf = Category.objects.create(name=name, slug=slugify(name), parent=types[dept, noun], source="imported")
            leaf_ids.append(leaf.pk)
    now = timezone.now()
    copy_rows(
        "catalog_brand",
        ("id", "name", "slug"),
        ((i + 1, name, slugify(name)) for i, name in enumerate(catalogue.brands)),
    )
    set_sequence("catalog_brand")
    columns = ("id", "sku", "title", "description", "brand_id", "price", "currency", "image_url", "category_id",
               "category_source", "source_category_path", "needs_review", "source", "is_active", "created_at",
               "updated_at")  # fmt: skip
    rows = (
        (i + 1, f"SYN-{i + 1:08d}", title, "", int(catalogue.brand_of[i]) + 1, float(catalogue.prices[i]), "INR", "",
         leaf_ids[catalogue.leaf_of[i]], "imported", "", False, "synthetic", True, now, now)
        for i, title in enumerate(catalogue.titles)
    )  # fmt: skip
    copy_rows("catalog_product", columns, rows)
    set_sequence("catalog_product")


def table_sizes_mb() -> dict[str, float]:
    from django.db import connection

    tables = ["catalog_product", "catalog_brand", "recommend_similaritem", "recommend_product_search"]
    sizes = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute("SELECT pg_total_relation_size(%s)", [table])
            sizes[table] = round(cursor.fetchone()[0] / 2**20, 1)
        cursor.execute("SELECT pg_database_size(current_database())")
        sizes["database"] = round(cursor.fetchone()[0] / 2**20, 1)
    return sizes


# --- the similar-items build --------------------------------------------------------------------------------


class Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def step(self, name: str, started: float) -> None:
        self.seconds[name] = round(time.monotonic() - started, 1)
        log(f"{name}: {self.seconds[name]} s (RSS {proc_status_mb('VmRSS')} MB)")
