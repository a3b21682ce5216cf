"""Basket preparation: the sparse basket x item matrix, time splits and hide-one-item test cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


def basket_matrix(baskets: Sequence[Sequence[int]], n_items: int) -> sp.csr_matrix:
    """Binary CSR matrix, one row per basket (an item bought twice in one basket counts once)."""
    rows = np.repeat(np.arange(len(baskets)), [len(basket) for basket in baskets])
    cols = np.fromiter((item for basket in baskets for item in basket), dtype=np.int64, count=len(rows))
    matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(baskets), n_items))
    matrix.data[:] = 1.0  # duplicates were summed by the constructor
    return matrix


def split_by_time(items: Sequence, test_fraction: float) -> tuple[list, list]:
    """First (1 - fraction) of an already time-ordered list for training, the rest for testing."""
    cut = round(len(items) * (1.0 - test_fraction))
    return list(items[:cut]), list(items[cut:])


@dataclass(frozen=True)
class HiddenItemCase:
    """One test case: the basket without one item (`given`) and the item to find (`target`)."""

    given: tuple[int, ...]
    target: int


def hidden_item_cases(baskets: Sequence[Sequence[int]], *, seed: int = 0, min_size: int = 2) -> list[HiddenItemCase]:
    """For each basket with at least `min_size` distinct items, hide one item chosen at random (seeded)."""
    rng = np.random.default_rng(seed)
    cases = []
    for basket in baskets:
        distinct = list(dict.fromkeys(basket))
        if len(distinct) < min_size:
            continue
        target = distinct[int(rng.integers(len(distinct)))]
        cases.append(HiddenItemCase(tuple(item for item in distinct if item != target), target))
    return cases


def item_basket_counts(baskets: Sequence[Sequence[int]], n_items: int) -> np.ndarray:
    """How many baskets hold each item."""
    counts = np.zeros(n_items, dtype=np.int64)
    for basket in baskets:
        counts[list(set(basket))] += 1
    return counts
