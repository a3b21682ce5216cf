"""Node features of the co-purchase graph: category path, price band and (when available) a text vector.

Every level of the category path is hashed into a bucket (so "Dairy > Milk" shares the "Dairy"
bucket with "Dairy > Cheese"), prices fall into log-spaced bands learned from the catalog, and the
text vector, if the caller has one, is appended as it is. Blocks are scaled so each weighs about
the same in the first projection.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

CATEGORY_BUCKETS = 256
PRICE_BANDS = 8


def _bucket(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "little") % CATEGORY_BUCKETS


def category_features(paths: Sequence[Sequence[str]]) -> np.ndarray:
    """One row per item, a 1/sqrt(levels) in the bucket of each path prefix."""
    out = np.zeros((len(paths), CATEGORY_BUCKETS), dtype=np.float32)
    for row, path in enumerate(paths):
        prefixes = [" > ".join(path[: depth + 1]).lower() for depth in range(len(path))]
        for prefix in prefixes:
            out[row, _bucket(prefix)] += 1.0 / np.sqrt(len(prefixes))
    return out


def price_band_features(prices: Sequence[float | None]) -> np.ndarray:
    """One-hot log-price band (quantiles of the known prices) plus a last column for "no price"."""
    values = np.array([np.nan if price is None else float(price) for price in prices], dtype=np.float64)
    out = np.zeros((len(values), PRICE_BANDS + 1), dtype=np.float32)
    known = np.isfinite(values) & (values > 0)
    out[~known, PRICE_BANDS] = 1.0
    if known.any():
        logs = np.log(values[known])
        edges = np.quantile(logs, np.linspace(0, 1, PRICE_BANDS + 1)[1:-1])
        out[np.flatnonzero(known), np.searchsorted(edges, logs, side="right")] = 1.0
    return out


def item_features(
    *,
    category_paths: Sequence[Sequence[str]],
    prices: Sequence[float | None],
    text_vectors: np.ndarray | None = None,
) -> np.ndarray:
    """[category | price band | text] per item, float32."""
    blocks = [category_features(category_paths), price_band_features(prices)]
    if text_vectors is not None and len(text_vectors):
        blocks.append(np.asarray(text_vectors, dtype=np.float32))
    return np.hstack(blocks).astype(np.float32)
