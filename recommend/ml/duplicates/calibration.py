"""Thresholds and scores for a matcher: the F1-optimal cut on validation data, and P/R/F1 at a cut."""

from __future__ import annotations

import numpy as np


def best_f1_threshold(y_true: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Threshold maximising F1 (ties: the higher threshold, i.e. the more precise one)."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], np.asarray(y_true)[order].astype(np.float64)
    tp = np.cumsum(y)
    fp = np.cumsum(1.0 - y)
    positives = y.sum()
    f1 = 2 * tp / np.maximum(tp + fp + positives, 1e-12)
    # Only cut where the score changes, else the threshold would split tied scores.
    last_of_run = np.r_[s[1:] != s[:-1], True]
    f1 = np.where(last_of_run, f1, -1.0)
    best = int(np.argmax(f1))
    return float(s[best]), float(f1[best])


def precision_recall_f1(y_true: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Precision, recall and F1 of ``scores >= threshold`` (0.0 where undefined)."""
    y = np.asarray(y_true).astype(bool)
    predicted = np.asarray(scores) >= threshold
    tp = float(np.sum(predicted & y))
    precision = tp / max(float(predicted.sum()), 1.0)
    recall = tp / max(float(y.sum()), 1.0)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {"precision": precision, "recall": recall, "f1": f1}


def threshold_for_precision(y_true: np.ndarray, scores: np.ndarray, precision: float) -> float:
    """The lowest threshold whose precision on (y_true, scores) is at least ``precision``.

    The admin's default "high-precision" filter uses it; with no such threshold the
    highest score is returned (only the single best pair passes).
    """
    order = np.argsort(-scores, kind="stable")
    s, y = np.asarray(scores)[order], np.asarray(y_true)[order].astype(np.float64)
    if not len(s):
        return 1.0
    running = np.cumsum(y) / np.arange(1, len(y) + 1)
    last_of_run = np.r_[s[1:] != s[:-1], True]
    ok = np.flatnonzero((running >= precision) & last_of_run)
    return float(s[ok[-1]]) if len(ok) else float(s[0])
