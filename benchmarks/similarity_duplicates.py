"""Duplicates section of benchmarks/similarity.py: the learned scorer vs cosine only on Flipkart proxy pairs.

In-source: the scorer is fit on Flipkart's own training pairs and scored on its held-out pairs (groups split apart).
The same recipe trained WITHOUT Flipkart (leave-one-source-out, what a new shop gets out of the box) is measured by
benchmarks/matching.py as ``flipkart.zero_shot.*``. ``flipkart.duplicates.vs_cosine.*``: the paired difference in
per-pair correctness, scorer - cosine (each at its validation threshold), with a 95 % interval (compare()).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from recommend.ml.common.comparison import compare
from recommend.ml.duplicates import (
    DuplicateScorer,
    best_f1_threshold,
    build_labelled_pairs_from_flipkart,
    split_by_group,
)


def bench_duplicates(
    rows: list[dict], out_dir: Path | None, encode_cached: Callable[[list[str], str], np.ndarray]
) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    pairs = build_labelled_pairs_from_flipkart(rows, seed=0)
    train, val, test = split_by_group(pairs, seed=0)
    all_pairs = [(p.a, p.b) for p in pairs]
    titles = sorted({x.get("title") or "" for pair in all_pairs for x in pair})
    tvecs = encode_cached(titles, "dup-titles")
    pos = {t: i for i, t in enumerate(titles)}

    def cos(part: list) -> np.ndarray:
        a = tvecs[[pos[p.a["title"] or ""] for p in part]]
        b = tvecs[[pos[p.b["title"] or ""] for p in part]]
        return np.einsum("ij,ij->i", a, b)

    scorer = DuplicateScorer()
    xs = [scorer.matrix([(p.a, p.b) for p in part], cos(part)) for part in (train, val, test)]
    ys = [np.array([p.label for p in part]) for part in (train, val, test)]
    scorer.fit(xs[0], ys[0], xs[1], ys[1])
    st = scorer.predict(xs[2])
    pred = st >= scorer.threshold
    tp = float((pred & (ys[2] == 1)).sum())
    precision, recall = tp / max(pred.sum(), 1), tp / max((ys[2] == 1).sum(), 1)
    # Baseline: the embedding cosine alone, its threshold also picked on val.
    cos_val, cos_test = cos(val), cos(test)
    ct, _ = best_f1_threshold(ys[1], cos_val)
    cpred = cos_test >= ct
    ctp = float((cpred & (ys[2] == 1)).sum())
    c_p, c_r = ctp / max(cpred.sum(), 1), ctp / max((ys[2] == 1).sum(), 1)
    scorer.meta.update(
        {
            "trained_on": "flipkart_20k_joined.csv proxy pairs (see recommend/ml/duplicates.py)",
            "n_train": len(train),
            "n_val": len(val),
            "n_test": len(test),
            "test_f1": 2 * precision * recall / max(precision + recall, 1e-12),
            "date": datetime.now(UTC).date().isoformat(),
        }
    )
    paired = compare(
        metric="pair accuracy",
        model="duplicate scorer",
        model_scores=(pred == (ys[2] == 1)).astype(float),
        baselines={"cosine": (cpred == (ys[2] == 1)).astype(float)},
        unit="pairs",
    )
    if out_dir is not None:
        scorer.save(out_dir / "duplicate_scorer.json")
    return {
        "flipkart.duplicates.threshold": scorer.threshold,
        "flipkart.duplicates.precision_test": precision,
        "flipkart.duplicates.recall_test": recall,
        "flipkart.duplicates.f1_test": scorer.meta["test_f1"],
        "flipkart.duplicates.auc_test": float(roc_auc_score(ys[2], st)),
        "flipkart.duplicates.cosine_only_f1_test": 2 * c_p * c_r / max(c_p + c_r, 1e-12),
        "flipkart.duplicates.accuracy_test": paired.model_value,
        "flipkart.duplicates.cosine_only_accuracy_test": paired.baseline_value,
        "flipkart.duplicates.vs_cosine.difference": paired.difference,
        "flipkart.duplicates.vs_cosine.ci_low": paired.low,
        "flipkart.duplicates.vs_cosine.ci_high": paired.high,
        "flipkart.duplicates.n_test": float(len(test)),
        "flipkart.duplicates.n_pairs": float(len(pairs)),
        "flipkart.duplicates.positive_share": float(np.mean([p.label for p in pairs])),
    }
