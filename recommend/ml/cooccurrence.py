"""Behavioural item-item similarity and the content/behaviour hybrid merge.

Co-occurrence ("people who viewed/bought this also viewed/bought"):
each user's (or session's) time-ordered item sequence contributes a weight for every
pair of items at most ``window`` positions apart. The weight decays with the gap
(``decay ** (gap - 1)``: adjacent items are the strongest signal of substitutes /
complements) and, optionally, with the age of the later interaction
(``0.5 ** (age / half_life)``: recent behaviour beats 2015 behaviour). Forward pairs
(A then B) and backward pairs can be weighted differently; for "similar items" both
directions count.

The raw counts are then cosine-normalised, ``C[i, j] / (n_i ** alpha * n_j ** (1 - alpha))``
with ``n_i`` the weighted occurrence count of item i. ``alpha = 0.5`` is the classic
item-cosine, which stops best-sellers from being everybody's neighbour. Everything is
sparse (scipy.sparse CSR), so memory is O(number of distinct co-occurring pairs).

``merge_neighbors`` fuses a content list and a behaviour list into one ranking and
tags each item with the signal(s) it came from. All functions are pure (no Django).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp

Signal = Literal["content", "behavior", "both"]


@dataclass(frozen=True)
class Neighbor:
    item: Hashable
    score: float
    signal: Signal
    content_score: float = 0.0
    behavior_score: float = 0.0


class CooccurrenceModel:
    """Item-item cosine-normalised co-occurrence similarity (symmetric sparse matrix)."""

    def __init__(self, items: list[Hashable], similarity: sp.csr_matrix, counts: np.ndarray) -> None:
        self.items = items
        self.index = {item: i for i, item in enumerate(items)}
        self.similarity = similarity
        self.counts = counts

    def __contains__(self, item: Hashable) -> bool:
        return item in self.index

    def neighbors(self, item: Hashable, k: int = 10, exclude_self: bool = True) -> list[tuple[Hashable, float]]:
        """Top-``k`` behavioural neighbours of ``item`` (empty for unseen items)."""
        row = self.index.get(item)
        if row is None:
            return []
        start, end = self.similarity.indptr[row], self.similarity.indptr[row + 1]
        cols = self.similarity.indices[start:end]
        vals = self.similarity.data[start:end]
        if exclude_self:
            keep = cols != row
            cols, vals = cols[keep], vals[keep]
        if len(vals) > k:
            top = np.argpartition(-vals, k)[:k]
            cols, vals = cols[top], vals[top]
        # Tie-break by column for deterministic output.
        order = np.lexsort((cols, -vals))
        return [(self.items[c], float(v)) for c, v in zip(cols[order], vals[order], strict=True)]

    def top_k_all(self, k: int = 10) -> dict[Hashable, list[tuple[Hashable, float]]]:
        """Neighbours for every item that has at least one (for bulk precomputation)."""
        out = {}
        for item in self.items:
            nbrs = self.neighbors(item, k)
            if nbrs:
                out[item] = nbrs
        return out


def build_cooccurrence(
    sequences: Sequence[Sequence[Hashable]],
    *,
    timestamps: Sequence[Sequence[float]] | None = None,
    window: int = 3,
    decay: float = 0.7,
    forward_weight: float = 1.0,
    backward_weight: float = 1.0,
    half_life_days: float | None = None,
    now: float | None = None,
    alpha: float = 0.5,
    min_weight: float = 0.0,
) -> CooccurrenceModel:
    """Build a :class:`CooccurrenceModel` from time-ordered item sequences.

    ``sequences`` is one list of item ids per user or session (a basket/order can be
    passed as one sequence with a large ``window``). ``timestamps`` (seconds, aligned
    with ``sequences``) are only needed for ``half_life_days``; ``now`` defaults to the
    newest timestamp so benchmarks on historic data are not decayed to zero.
    Pairs with total weight <= ``min_weight`` are dropped (noise pruning).
    """
    items: list[Hashable] = []
    index: dict[Hashable, int] = {}
    flat: list[int] = []
    seq_id: list[int] = []
    for s, seq in enumerate(sequences):
        for item in seq:
            i = index.get(item)
            if i is None:
                i = index[item] = len(items)
                items.append(item)
            flat.append(i)
            seq_id.append(s)
    codes = np.asarray(flat, dtype=np.int64)
    owner = np.asarray(seq_id, dtype=np.int64)
    n_items = len(items)

    # Per-interaction recency weight (1.0 without a half-life).
    if half_life_days is not None:
        if timestamps is None:
            raise ValueError("half_life_days needs timestamps")
        ts = np.asarray([t for seq in timestamps for t in seq], dtype=np.float64)
        if len(ts) != len(codes):
            raise ValueError("timestamps are not aligned with sequences")
        ref = ts.max() if now is None else now
        recency = 0.5 ** (np.maximum(ref - ts, 0.0) / (half_life_days * 86400.0))
    else:
        recency = np.ones(len(codes))

    rows, cols, vals = [], [], []
    # Vectorised over all sequences at once, one pass per gap: pair position p with p+gap
    # when both belong to the same sequence.
    for gap in range(1, window + 1):
        if gap >= len(codes):
            break
        same = owner[:-gap] == owner[gap:]
        a, b = codes[:-gap][same], codes[gap:][same]
        w = (decay ** (gap - 1)) * recency[gap:][same]
        distinct = a != b  # repeated views of the same item are not evidence of similarity
        a, b, w = a[distinct], b[distinct], w[distinct]
        rows += [a, b]
        cols += [b, a]
        vals += [w * forward_weight, w * backward_weight]
    if rows:
        r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    else:
        r = c = np.empty(0, dtype=np.int64)
        v = np.empty(0)
    co = sp.coo_matrix((v, (r, c)), shape=(n_items, n_items)).tocsr()
    co.sum_duplicates()
    if min_weight > 0:
        co.data[co.data <= min_weight] = 0.0
        co.eliminate_zeros()
    # Item "popularity" n_i = weighted number of interactions with it.
    counts = np.bincount(codes, weights=recency, minlength=n_items)
    left = sp.diags(1.0 / np.maximum(counts, 1e-12) ** alpha)
    right = sp.diags(1.0 / np.maximum(counts, 1e-12) ** (1.0 - alpha))
    sim = (left @ co @ right).tocsr()
    sim.sort_indices()
    return CooccurrenceModel(items, sim.astype(np.float32), counts)


def _rescale(scores: dict[Hashable, float], how: str) -> dict[Hashable, float]:
    if not scores:
        return {}
    if how == "none":
        return dict(scores)
    if how == "rank":  # reciprocal rank: robust when the two score scales are unrelated
        ranked = sorted(scores, key=lambda x: -scores[x])
        return {item: 1.0 / (r + 1) for r, item in enumerate(ranked)}
    vals = np.fromiter(scores.values(), dtype=np.float64)
    hi = vals.max()
    lo = vals.min() if how == "minmax" else 0.0
    span = hi - lo
    if span <= 0:
        return {item: 1.0 for item in scores}
    return {item: (s - lo) / span for item, s in scores.items()}


def merge_neighbors(
    content: Sequence[tuple[Hashable, float]],
    behavior: Sequence[tuple[Hashable, float]],
    *,
    content_weight: float = 0.5,
    behavior_weight: float = 0.5,
    k: int = 10,
    normalization: Literal["max", "minmax", "rank", "none"] = "max",
    exclude: Hashable | None = None,
    weak: Collection[Hashable] = (),
) -> list[Neighbor]:
    """Fuse content and behaviour neighbour lists into one ranked list of ``Neighbor``.

    Each list is rescaled separately (content cosines cluster around 0.5-0.9 while
    behaviour cosines are often < 0.1, so raw scores are not comparable), then
    ``score = content_weight * c + behavior_weight * b`` with 0 for a missing side.
    Items found by both lists are labelled ``"both"``. When one list is empty (cold
    item without behaviour) the other list decides alone, so the merge degrades to
    plain content similarity. ``exclude`` drops e.g. the query item itself. Items in ``weak``
    (behaviour seen by too few visitors, see ``pair_support``) never outrank an item with content
    evidence or well-supported behaviour when behaviour is their only signal.
    """
    c = _rescale({i: s for i, s in content if i != exclude}, normalization)
    b = _rescale({i: s for i, s in behavior if i != exclude}, normalization)
    merged: list[Neighbor] = []
    for item in c.keys() | b.keys():
        in_c, in_b = item in c, item in b
        cs, bs = c.get(item, 0.0), b.get(item, 0.0)
        signal: Signal = "both" if in_c and in_b else ("content" if in_c else "behavior")
        merged.append(Neighbor(item, content_weight * cs + behavior_weight * bs, signal, cs, bs))
    weak_set = set(weak)
    merged.sort(key=lambda n: (n.signal == "behavior" and n.item in weak_set, -n.score, str(n.item)))
    return merged[:k]


def _pair(left: Hashable, right: Hashable) -> tuple[Hashable, Hashable]:
    """The key of an unordered pair (items of any hashable type, ordered by their text)."""
    return (left, right) if str(left) <= str(right) else (right, left)


def pair_support(sequences: Sequence[Sequence[Hashable]], window: int) -> Counter[tuple[Hashable, Hashable]]:
    """How many sequences (visitors) hold each unordered pair within ``window`` positions of each other.

    Weights in the co-occurrence model grow with repeats, so one visitor paging between two items looks
    like strong evidence; this count is the number of distinct people behind a pair. Keys are sorted pairs.
    """
    support: Counter[tuple[Hashable, Hashable]] = Counter()
    for sequence in sequences:
        pairs = set()
        for i, left in enumerate(sequence):
            for right in sequence[i + 1 : i + 1 + window]:
                if left != right:
                    pairs.add(_pair(left, right))
        support.update(pairs)
    return support


def thinly_supported(
    item: Hashable, neighbours: Sequence[tuple[Hashable, float]], support: Counter, min_visitors: int
) -> set[Hashable]:
    """The neighbours of ``item`` whose pair was seen by fewer than ``min_visitors`` visitors."""
    return {other for other, _ in neighbours if support[_pair(item, other)] < min_visitors}
