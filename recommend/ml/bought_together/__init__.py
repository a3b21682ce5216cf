"""Frequently bought together: association rules, a co-purchase graph model and their blend.

Pure numpy/scipy/torch (no Django): items are integer indexes 0..n_items-1 and baskets are lists of
those indexes. `rules` counts pairs sparsely (support, confidence, lift), `graph` is a LightGCN-style
model on the co-purchase graph with node features, `blend` mixes both with a popularity prior, and
`evaluate` runs the hide-one-item basket-completion protocol used by the benchmark.
"""

from recommend.ml.bought_together.blend import BlendedScorer, BlendWeights
from recommend.ml.bought_together.data import basket_matrix, split_by_time
from recommend.ml.bought_together.graph import CoPurchaseGraphModel, GraphConfig
from recommend.ml.bought_together.rules import AssociationRules

__all__ = [
    "AssociationRules",
    "BlendWeights",
    "BlendedScorer",
    "CoPurchaseGraphModel",
    "GraphConfig",
    "basket_matrix",
    "split_by_time",
]
