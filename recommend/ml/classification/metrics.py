"""Metrics for hierarchical (category-path) classification.

Level ``k`` is scored on path *prefixes* of length ``k``, so a level-2 class
is the pair (level-1, level-2); that is the node the model actually picks and
keeps same-named children of different parents apart.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recommend.ml.common.metrics import accuracy, macro_f1

_SEP = "\x1f"  # unit separator: cannot occur in category names from CSVs
_END = "<end>"


def _prefix_label(path: Sequence[str], level: int) -> str:
    """Label of a path at ``level`` (1-based); shorter paths get an END marker."""
    parts = list(path[:level])
    if len(parts) < level:
        parts.append(_END)
    return _SEP.join(parts)


def evaluate(
    predicted_paths: Sequence[Sequence[str]],
    true_paths: Sequence[Sequence[str]],
    depth: int,
) -> dict[str, float]:
    """Per-level accuracy and macro-F1 plus exact path accuracy up to ``depth``.

    Returns flat keys ``level{k}.accuracy``, ``level{k}.macro_f1`` (k = 1..depth)
    and ``path_accuracy``.  Macro-F1 averages over every class that occurs in
    either the truth or the predictions (sklearn's default), with 0 for
    classes that are never predicted correctly.
    """
    if len(predicted_paths) != len(true_paths):
        raise ValueError("predicted_paths and true_paths differ in length")
    if not true_paths:
        raise ValueError("nothing to evaluate")
    result: dict[str, float] = {}
    for level in range(1, depth + 1):
        y_true = [_prefix_label(p, level) for p in true_paths]
        y_pred = [_prefix_label(p, level) for p in predicted_paths]
        result[f"level{level}.accuracy"] = accuracy(y_true, y_pred)
        result[f"level{level}.macro_f1"] = macro_f1(y_true, y_pred)
    exact = sum(tuple(p[:depth]) == tuple(t[:depth]) for p, t in zip(predicted_paths, true_paths, strict=False))
    result["path_accuracy"] = exact / len(true_paths)
    return result


def level_scores(predicted_labels: Sequence[str], true_labels: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro-F1 of one level's flat labels (used by the baseline)."""
    return {
        "accuracy": accuracy(true_labels, predicted_labels),
        "macro_f1": macro_f1(true_labels, predicted_labels),
    }


def validation_score(metrics: dict[str, float], depth: int) -> float:
    """The number model selection maximises on validation data."""
    # Mean macro-F1 over levels plus path accuracy: rewards rare classes
    # without letting a degenerate model that trades away accuracy win.
    f1 = np.mean([metrics[f"level{k}.macro_f1"] for k in range(1, depth + 1)])
    return float(f1 + metrics["path_accuracy"])
