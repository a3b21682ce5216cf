"""Sequential recommenders (pure torch/numpy): popularity, recency-weighted item-kNN and SASRec.

Every model works on item indexes 1..n_items (0 is padding), fits on time-ordered sequences and
scores every item for a batch of histories (`score(histories) -> (batch, n_items + 1)` array).
"""
