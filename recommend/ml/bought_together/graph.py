"""A LightGCN-style link-prediction model on the item co-purchase graph, with node features.

Nodes are items; an edge i - j is weighted by log(1 + number of baskets holding both), normalised
symmetrically (D^-1/2 A D^-1/2). Each item starts from a free embedding plus a linear projection of
its features (category path, text vector, price band: whatever the caller passes), so an item with
few or no baskets still gets a position from what it is and from its neighbours. K propagation
steps are averaged (LightGCN). A partial basket is the mean of its items' embeddings; item j scores
<basket, e_j> + b_j, where b_j starts at log popularity. Training hides one item of each training
basket and maximises its softmax probability over all items (the basket-completion task itself).

After `fit`, the propagated embeddings are kept as numpy arrays, so scoring needs no torch. `fit` trains on
the device it is given (default the CPU; "auto" is a GPU when there is one, see recommend.ml.common.device).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:  # torch is imported by `fit` only: serving the fitted numpy vectors never loads it
    import torch

    from recommend.ml.bought_together.graph_net import GraphNet
    from recommend.ml.common.device import DeviceLike

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class GraphConfig:
    dim: int = 32
    layers: int = 2
    epochs: int = 8
    max_given: int = 20  # items of a basket used as context (bigger baskets are cut)
    batch_size: int = 2048
    lr: float = 0.01
    l2: float = 1e-5
    seed: int = 0


def _training_cases(
    baskets: Sequence[Sequence[int]], weights: np.ndarray, max_given: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (basket without item, item) pair of the baskets with two or more items, padded with -1."""
    given, targets, case_weights = [], [], []
    for basket, weight in zip(baskets, weights, strict=True):
        distinct = list(dict.fromkeys(basket))[: max_given + 1]
        if len(distinct) < 2:
            continue
        for position, target in enumerate(distinct):
            rest = distinct[:position] + distinct[position + 1 :]
            given.append(rest + [-1] * (max_given - len(rest)))
            targets.append(target)
            case_weights.append(weight)
    return (
        np.asarray(given, dtype=np.int64).reshape(-1, max_given),
        np.asarray(targets, dtype=np.int64),
        np.asarray(case_weights, dtype=np.float32),
    )


class CoPurchaseGraphModel:
    """Fit on training baskets (and the pair counts of the same baskets); score items completing a basket."""

    def __init__(self, config: GraphConfig | None = None) -> None:
        self.config = config or GraphConfig()
        self.item_vectors = np.zeros((0, self.config.dim), dtype=np.float32)
        self.item_bias = np.zeros(0, dtype=np.float32)

    def fit(
        self,
        baskets: Sequence[Sequence[int]],
        *,
        n_items: int,
        pair_counts: sp.spmatrix,
        item_counts: np.ndarray,
        features: np.ndarray | None = None,
        basket_weights: np.ndarray | None = None,
        progress: Progress | None = None,
        device: DeviceLike = "cpu",
    ) -> CoPurchaseGraphModel:
        """`item_counts` (weighted or not) set the starting bias; `basket_weights` weight the training cases."""
        import torch

        from recommend.ml.bought_together.graph_net import GraphNet, normalized_adjacency
        from recommend.ml.common.device import torch_device

        config = self.config
        target = torch_device(device)
        torch.manual_seed(config.seed)
        rng = np.random.default_rng(config.seed)
        counts = np.asarray(item_counts, dtype=np.float64)
        log_prior = np.log((counts + 0.5) / (counts.sum() + 0.5 * n_items))
        net = GraphNet(n_items, 0 if features is None else features.shape[1], config, log_prior).to(target)
        adjacency = normalized_adjacency(pair_counts)
        if n_items <= 4096:
            adjacency = adjacency.to_dense()  # small graphs: a dense product is faster than a sparse one
        adjacency = adjacency.to(target)
        feature_tensor = (
            None if features is None else torch.from_numpy(np.asarray(features, dtype=np.float32)).to(target)
        )
        weights = np.ones(len(baskets)) if basket_weights is None else np.asarray(basket_weights)
        given, targets, case_weights = _training_cases(baskets, weights, config.max_given)
        optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
        batches = max(1, int(np.ceil(len(targets) / config.batch_size)))
        for epoch in range(config.epochs if len(targets) else 0):
            order = rng.permutation(len(targets))
            for batch in range(batches):
                index = order[batch * config.batch_size : (batch + 1) * config.batch_size]
                loss = self._step(net, adjacency, feature_tensor, given[index], targets[index], case_weights[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            if progress is not None:
                progress(
                    (epoch + 1) / config.epochs, f"graph epoch {epoch + 1}/{config.epochs}, loss {loss.item():.3f}"
                )
        with torch.no_grad():
            self.item_vectors = net.propagate(adjacency, feature_tensor).cpu().numpy().astype(np.float32)
            self.item_bias = net.bias.detach().cpu().numpy().astype(np.float32)
        return self

    def _step(
        self,
        net: GraphNet,
        adjacency: torch.Tensor,
        features: torch.Tensor | None,
        given: np.ndarray,
        targets: np.ndarray,
        weights: np.ndarray,
    ) -> torch.Tensor:
        import torch
        from torch import nn

        items = net.propagate(adjacency, features)
        device = items.device
        given_tensor = torch.from_numpy(given).to(device)
        mask = (given_tensor >= 0).float()
        logits = net.logits(items, given_tensor.clamp(min=0), mask)
        # The given items are never the answer: take them out of the softmax (padding adds 0).
        penalty = torch.zeros_like(logits).scatter_add(1, given_tensor.clamp(min=0), mask * -1e9)
        logits = logits + penalty
        losses = nn.functional.cross_entropy(logits, torch.from_numpy(targets).to(device), reduction="none")
        weight = torch.from_numpy(weights).to(device)
        loss = (losses * weight).sum() / weight.sum().clamp(min=1e-12)
        regulariser = net.embedding.weight.pow(2).sum() / len(targets)
        return loss + self.config.l2 * regulariser

    @property
    def n_items(self) -> int:
        return len(self.item_bias)

    def logits(self, items: Sequence[int]) -> np.ndarray:
        known = [item for item in items if 0 <= item < self.n_items]
        if not known:
            return self.item_bias.astype(np.float64)
        query = self.item_vectors[known].mean(axis=0)
        return (self.item_vectors @ query + self.item_bias).astype(np.float64)

    def score(self, items: Sequence[int]) -> np.ndarray:
        """Softmax probability of every item completing the basket (the given items excluded)."""
        logits = self.logits(items)
        known = [item for item in items if 0 <= item < self.n_items]
        logits[known] = -np.inf
        logits -= logits.max()
        weights = np.exp(logits)
        return weights / weights.sum()

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            item_vectors=self.item_vectors,
            item_bias=self.item_bias,
            config=np.array(json.dumps(asdict(self.config))),
        )

    @classmethod
    def load(cls, path: Path) -> CoPurchaseGraphModel:
        with np.load(path) as stored:
            model = cls(GraphConfig(**json.loads(str(stored["config"]))))
            model.item_vectors = stored["item_vectors"]
            model.item_bias = stored["item_bias"]
        return model
