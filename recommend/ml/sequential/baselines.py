"""Two reference recommenders every sequential model is measured against.

`Popularity` ranks by training interaction count. `ItemKNN` scores an item by its cosine
co-occurrence with each history item, the latest history items weighing most (recency weighting);
on Amazon Beauty this simple model is a strong baseline that a transformer has to beat.
"""

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recommend.ml.common.protocol import register_model
from recommend.ml.sequential.data import item_popularity


@register_model("sequential", "popularity")
class Popularity:
    def __init__(self, n_items: int) -> None:
        self.n_items = n_items
        self.counts = np.zeros(n_items + 1)

    def fit(self, sequences: Sequence[Sequence[int]]) -> "Popularity":
        self.counts = item_popularity(sequences, self.n_items)
        return self

    def score(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        return np.tile(self.counts, (len(histories), 1))

    def save(self, folder: Path) -> None:
        np.save(folder / "popularity.npy", self.counts)

    @classmethod
    def load(cls, folder: Path) -> "Popularity":
        counts = np.load(folder / "popularity.npy")
        model = cls(n_items=len(counts) - 1)
        model.counts = counts
        return model


@register_model("sequential", "itemknn")
class ItemKNN:
    """Recency-weighted item-kNN on windowed co-occurrence.

    Pairs at most `window` positions apart count `gap_decay ** (gap - 1)`; the counts are
    normalised as C[i, j] / (n_i ** alpha * n_j ** (1 - alpha)) (alpha 0.5: cosine), so best-sellers
    do not become everybody's neighbour; history item k from the end weighs `recency ** k`.
    """

    def __init__(
        self, n_items: int, *, window: int = 3, gap_decay: float = 0.7, alpha: float = 0.5, recency: float = 0.6
    ) -> None:
        self.n_items = n_items
        self.window, self.gap_decay, self.alpha, self.recency = window, gap_decay, alpha, recency
        self.similarity = sp.csr_matrix((n_items + 1, n_items + 1))

    def fit(self, sequences: Sequence[Sequence[int]]) -> "ItemKNN":
        rows, cols, weights = [], [], []
        for sequence in sequences:
            items = np.asarray(sequence, dtype=np.int64)
            for gap in range(1, min(self.window, len(items) - 1) + 1):
                weight = self.gap_decay ** (gap - 1)
                # Both directions: "viewed with" is symmetric evidence for a next item.
                rows += [items[:-gap], items[gap:]]
                cols += [items[gap:], items[:-gap]]
                weights += [np.full(len(items) - gap, weight)] * 2
        size = self.n_items + 1
        counts = sp.csr_matrix(
            (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size)
        )
        counts.setdiag(0)
        counts.eliminate_zeros()
        occurrences = np.maximum(item_popularity(sequences, self.n_items), 1.0)
        left = sp.diags(occurrences**-self.alpha)
        right = sp.diags(occurrences ** -(1.0 - self.alpha))
        self.similarity = (left @ counts @ right).tocsr()
        return self

    def history_weights(self, histories: Sequence[Sequence[int]]) -> sp.csr_matrix:
        rows, cols, weights = [], [], []
        for row, history in enumerate(histories):
            items = np.asarray(history, dtype=np.int64)
            rows.append(np.full(len(items), row))
            cols.append(items)
            weights.append(self.recency ** np.arange(len(items))[::-1])
        if not rows:
            return sp.csr_matrix((0, self.n_items + 1))
        return sp.csr_matrix(
            (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
            shape=(len(histories), self.n_items + 1),
        )

    def score(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        return np.asarray((self.history_weights(histories) @ self.similarity).todense())

    def save(self, folder: Path) -> None:
        """The settings as JSON and the similarity as a sparse .npz: data only, no pickle to run code on load."""
        settings = {"n_items": self.n_items, "window": self.window, "gap_decay": self.gap_decay}
        settings.update(alpha=self.alpha, recency=self.recency)
        (folder / "itemknn.json").write_text(json.dumps(settings))
        sp.save_npz(folder / "itemknn_similarity.npz", self.similarity)

    @classmethod
    def load(cls, folder: Path) -> "ItemKNN":
        if not (folder / "itemknn.json").exists():
            raise ValueError(f"No item-kNN in {folder} (a pickled itemknn.pkl from before is not read: refit it).")
        settings = json.loads((folder / "itemknn.json").read_text())
        model = cls(settings.pop("n_items"), **settings)
        model.similarity = sp.load_npz(folder / "itemknn_similarity.npz").tocsr()  # allow_pickle stays False
        return model
