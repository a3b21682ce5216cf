"""Exact nearest neighbours inside groups (a product's leaf category), so similar items stay substitutes.

A global index ranks a laptop's pen drive above a far-away laptop; searching inside the laptop's own
category first keeps "similar" to products of the same type. Each group is searched exactly with one
matrix product per chunk: the cost is the sum of the squared group sizes, far below n^2 for a real tree.
"""

from __future__ import annotations

import numpy as np

CHUNK = 1024


def grouped_top_k(vectors: np.ndarray, groups: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices and cosines of each row's k nearest rows in its own group (self excluded).

    `vectors` are unit rows; `groups` holds one int per row, negative for "no group" (those rows get no
    neighbours here). Missing slots (a group smaller than k + 1) are -1 with score -inf.
    """
    count = len(vectors)
    ids = np.full((count, k), -1, dtype=np.int64)
    scores = np.full((count, k), -np.inf, dtype=np.float32)
    if count == 0 or k <= 0:
        return ids, scores
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    ends = np.r_[starts[1:], count]
    for start, end in zip(starts, ends, strict=True):
        if sorted_groups[start] < 0 or end - start < 2:
            continue
        members = order[start:end]
        base = vectors[members]
        take = min(k, len(members) - 1)
        for chunk in range(0, len(members), CHUNK):
            rows = members[chunk : chunk + CHUNK]
            sims = vectors[rows] @ base.T
            sims[np.arange(len(rows)), np.arange(chunk, chunk + len(rows))] = -np.inf  # self
            top = np.argpartition(-sims, take - 1, axis=1)[:, :take]  # take < len(members): self is -inf
            best = np.take_along_axis(sims, top, axis=1)
            rank = np.argsort(-best, axis=1, kind="stable")
            ids[rows, :take] = members[np.take_along_axis(top, rank, axis=1)]
            scores[rows, :take] = np.take_along_axis(best, rank, axis=1)
    return ids, scores


def fill_from(primary: list[tuple[int, float]], fallback: list[tuple[int, float]], k: int) -> list[tuple[int, float]]:
    """`primary` first, then `fallback` entries not already in it, up to k."""
    seen = {pk for pk, _ in primary}
    result = list(primary[:k])
    for pk, score in fallback:
        if len(result) >= k:
            break
        if pk not in seen:
            seen.add(pk)
            result.append((pk, score))
    return result
