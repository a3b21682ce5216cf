"""Datasets for the taxonomy benchmark: Fashion and Flipkart rows with their true 3-level paths, cached vectors.

The true paths are only ever used for scoring; the builder sees titles (and, for attributes, the columns or
key/value specifications a shop would import). Vectors are cached under ``var/bench_cache/`` keyed by a hash of
the texts so reruns skip the encoder.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "bench_cache"
FASHION_ATTRIBUTE_COLUMNS = ("gender", "baseColour", "season", "usage")


@dataclass
class Dataset:
    name: str
    titles: list[str]
    paths: list[tuple[str, str, str]]
    # Per product: attribute name -> value as the source gives it (Fashion columns / Flipkart specifications).
    specifications: list[dict[str, str]] = field(default_factory=list)


def data_dir() -> Path:
    return Path(os.environ.get("SHOP_DATA_DIR", ROOT.parent / "shared" / "data" / "raw"))


def load_fashion() -> Dataset:
    titles, paths, specs = [], [], []
    with open(data_dir() / "fashion_product_styles" / "styles_joined.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            title = (row.get("productDisplayName") or "").strip()
            path = tuple((row[c] or "").strip() for c in ("masterCategory", "subCategory", "articleType"))
            if title and all(path):
                titles.append(title)
                paths.append(path)
                specs.append({c: row[c].strip() for c in FASHION_ATTRIBUTE_COLUMNS if (row.get(c) or "").strip()})
    return Dataset("fashion", titles, paths, specs)  # type: ignore[arg-type]


def _flipkart_path(tree: str) -> list[str]:
    try:
        return [part.strip() for part in json.loads(tree)[0].split(">>")]
    except (ValueError, IndexError, TypeError):
        return []


def load_flipkart() -> Dataset:
    """Products with at least three category levels above the leaf (the leaf often repeats the title)."""
    titles, paths = [], []
    with open(data_dir() / "flipkart_ecommerce_sample" / "flipkart_20k_joined.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            title = (row.get("product_name") or "").strip()
            parts = _flipkart_path(row["product_category_tree"])
            if title and len(parts) >= 4:
                titles.append(title)
                paths.append(tuple(parts[:3]))
    return Dataset("flipkart", titles, paths)  # type: ignore[arg-type]


_SPEC_PAIR = re.compile(r'\{"key"=>"(?P<key>[^"]*)", "value"=>"(?P<value>[^"]*)"\}')


def load_flipkart_specifications() -> Dataset:
    """The 999 Flipkart rows that carry key/value specifications (the only ones in the stored sample)."""
    titles, paths, specs = [], [], []
    path = data_dir() / "flipkart_ecommerce_sample" / "flipkart_all15cols_first999rows.csv"
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            if not row.get("uniq_id"):
                continue
            parts = [*_flipkart_path(row["product_category_tree"]), "", "", ""]
            pairs = {m["key"].strip(): m["value"].strip() for m in _SPEC_PAIR.finditer(row["product_specifications"])}
            titles.append(row["product_name"].strip())
            paths.append(tuple(parts[:3]))
            specs.append({k: v for k, v in pairs.items() if k and v})
    return Dataset("flipkart_specifications", titles, paths, specs)  # type: ignore[arg-type]


def cached_vectors(name: str, texts: list[str]) -> np.ndarray:
    """Sentence vectors for `texts`, from var/bench_cache when the same texts were encoded before."""
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"taxonomy_{name}_{digest}.npy"
    if path.exists():
        return np.load(path)
    sys.path.insert(0, str(ROOT))
    import torch

    from recommend.ml.text_encoder import get_text_encoder

    torch.set_num_threads(2)
    started = time.perf_counter()
    vectors = get_text_encoder().encode(texts, batch_size=128)
    print(f"encoded {len(texts)} {name} texts in {time.perf_counter() - started:.0f} s", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


if __name__ == "__main__":
    for dataset in (load_fashion(), load_flipkart()):
        cached_vectors(dataset.name, dataset.titles)
