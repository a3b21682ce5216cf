"""Recency weights for baskets: recent shopping says more about what sells together now."""

from __future__ import annotations

import numpy as np


def recency_weights(days: np.ndarray, *, half_life_days: float | None, now: float | None = None) -> np.ndarray | None:
    """0.5 ** (age / half-life) per basket, age in days before `now` (default: the latest basket); None: no decay."""
    if half_life_days is None or len(days) == 0:
        return None
    days = np.asarray(days, dtype=np.float64)
    end = float(days.max()) if now is None else now
    return np.power(0.5, np.maximum(end - days, 0.0) / float(half_life_days))
