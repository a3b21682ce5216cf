"""A model against its simplest baselines on the same held-out cases: the difference with a 95 % interval.

Every capability scores its model and each baseline per held-out case (1/0 for a hit, a reciprocal rank, a
correct label, ...) on the same cases; `compare` picks the strongest baseline (the highest mean) and gives the
paired difference model - baseline with a normal interval on the per-case differences. A model "beats" its
baseline when the mean difference is above zero; `interval_clear` says whether the interval excludes zero.
Plain numpy: no Django, so benchmarks and the product use the same code.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

Z_95 = 1.959964


@dataclass(frozen=True)
class Comparison:
    metric: str  # "hit@10", "accuracy", "F1", ...
    model: str  # what was trained ("SASRec", "blend", "BiGRU")
    model_value: float
    baseline: str  # the strongest baseline's name ("popularity", "pair co-occurrence", ...)
    baseline_value: float
    difference: float  # model - baseline, mean over cases
    low: float  # 95 % interval of the difference
    high: float
    cases: int  # held-out cases scored
    unit: str  # what a case is ("visitors", "baskets", "products", "pairs")
    baselines: dict[str, float]  # every baseline's value on the same cases

    @property
    def beats(self) -> bool:
        return self.difference > 0

    @property
    def interval_clear(self) -> bool:
        return self.low > 0 or self.high < 0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "beats": self.beats}


def compare(
    *,
    metric: str,
    model: str,
    model_scores: np.ndarray,
    baselines: Mapping[str, np.ndarray],
    unit: str,
) -> Comparison:
    """Paired comparison of `model_scores` with the strongest of `baselines` (per-case arrays of equal length)."""
    model_scores = np.asarray(model_scores, dtype=np.float64)
    if not baselines:
        raise ValueError("compare needs at least one baseline")
    means = {name: float(np.mean(np.asarray(scores, dtype=np.float64))) for name, scores in baselines.items()}
    for name, scores in baselines.items():
        if len(scores) != len(model_scores):
            raise ValueError(f"baseline {name!r} scored {len(scores)} cases, the model {len(model_scores)}")
    strongest = max(means, key=lambda name: (means[name], name))
    differences = model_scores - np.asarray(baselines[strongest], dtype=np.float64)
    n = len(differences)
    mean = float(differences.mean()) if n else 0.0
    spread = Z_95 * float(differences.std(ddof=1)) / np.sqrt(n) if n > 1 else float("inf")
    return Comparison(
        metric=metric,
        model=model,
        model_value=float(model_scores.mean()) if n else 0.0,
        baseline=strongest,
        baseline_value=means[strongest],
        difference=mean,
        low=mean - spread,
        high=mean + spread,
        cases=n,
        unit=unit,
        baselines=means,
    )


def sentence(evaluation: Mapping[str, Any]) -> str:
    """'beats pair co-occurrence by +1.8 hit@10 points on your last 643 baskets (95 % interval +0.3 to +3.4)'."""
    points = 100 * float(evaluation["difference"])
    low, high = 100 * float(evaluation["low"]), 100 * float(evaluation["high"])
    verb = "beats" if evaluation.get("beats", points > 0) else "does not beat"
    interval = f"+{low:.1f}" if low >= 0 else f"{low:.1f}"
    interval += f" to {'+' if high >= 0 else ''}{high:.1f}" if np.isfinite(high) else " to ?"
    cases = evaluation.get("cases_label") or f"{evaluation['cases']} held-out {evaluation['unit']}"
    return (
        f"{evaluation['model']} {verb} {evaluation['baseline']} by {points:+.1f} {evaluation['metric']} points "
        f"on {cases} "
        f"({100 * float(evaluation['model_value']):.1f} vs {100 * float(evaluation['baseline_value']):.1f}; "
        f"95 % interval {interval})"
    )
