"""The torch part of the co-purchase graph model (recommend.ml.bought_together.graph): the normalised
adjacency and the network trained by `CoPurchaseGraphModel.fit`. Imported only when a model is fitted."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

if TYPE_CHECKING:
    from recommend.ml.bought_together.graph import GraphConfig


def normalized_adjacency(pair_counts: sp.spmatrix) -> torch.Tensor:
    """log(1 + count) edge weights, symmetric degree normalisation, as a torch sparse tensor."""
    weights = sp.csr_matrix(pair_counts, dtype=np.float64).copy()
    weights.data = np.log1p(weights.data)
    degree = np.asarray(weights.sum(axis=1)).ravel()
    inverse_root = np.where(degree > 0, 1.0 / np.sqrt(np.maximum(degree, 1e-12)), 0.0)
    normalized = sp.diags(inverse_root) @ weights @ sp.diags(inverse_root)
    coo = normalized.tocoo()
    indices = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
    values = torch.from_numpy(coo.data.astype(np.float32))
    return torch.sparse_coo_tensor(indices, values, coo.shape, check_invariants=False).coalesce()


class GraphNet(nn.Module):
    def __init__(self, n_items: int, n_features: int, config: GraphConfig, log_prior: np.ndarray) -> None:
        super().__init__()
        self.layers = config.layers
        self.embedding = nn.Embedding(n_items, config.dim)
        nn.init.normal_(self.embedding.weight, std=0.05)
        self.project = nn.Linear(n_features, config.dim, bias=False) if n_features else None
        self.bias = nn.Parameter(torch.from_numpy(log_prior.astype(np.float32)))

    def propagate(self, adjacency: torch.Tensor, features: torch.Tensor | None) -> torch.Tensor:
        matmul = torch.sparse.mm if adjacency.is_sparse else torch.mm
        layer = self.embedding.weight
        if self.project is not None and features is not None:
            layer = layer + self.project(features)
        outputs = [layer]
        for _ in range(self.layers):
            layer = matmul(adjacency, layer)
            outputs.append(layer)
        return torch.stack(outputs).mean(dim=0)

    def logits(self, items: torch.Tensor, given: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Scores of every item for each padded partial basket (`given` [B, L], `mask` 1 for real slots)."""
        vectors = items[given] * mask.unsqueeze(-1)
        query = vectors.sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp(min=1.0)
        return query @ items.T + self.bias
