"""The feature scorer: a sign-constrained logistic model over :mod:`.features`, the fast first stage.

It is a few numbers saved as JSON and applied with numpy, so it scores thousands of pairs
a second on one core once the record embeddings exist. The shipped default
(``default_scorer.json``) is fitted by ``benchmarks/matching.py`` on labelled pairs from
several sources (Flipkart variants, Fashion and Beauty "other shop" rewrites, PriceRunner
offers of one product from different merchants), never on the public matching benchmarks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .calibration import best_f1_threshold
from .features import Product, pair_features, record_text

Encoder = Callable[[list[str]], np.ndarray]
DEFAULT_PATH = Path(__file__).with_name("default_scorer.json")

# The feature set of scorers trained from v2 on (the first model used the first 11 names only).
CROSS_SHOP_FEATURES = [
    "text_cosine",
    "title_token_jaccard",
    "title_containment",
    "title_core_jaccard",
    "title_char3_jaccard",
    "brand_match",
    "brand_conflict",
    "brand_missing",
    "price_ratio",
    "price_missing",
    "category_overlap",
    "part_number_match",
    "part_number_conflict",
    "part_number_missing",
    "numeric_agreement",
    "numeric_conflict",
    "description_char3_jaccard",
    "description_missing",
]
DEFAULT_FEATURES = CROSS_SHOP_FEATURES

# Sign constraints for ``DuplicateScorer.fit`` (features not listed are unconstrained): more
# similarity may never lower the score, and a conflict may never raise it. Unconstrained, the
# correlated similarities get weights of opposite sign that fit one dataset and punish a
# re-worded duplicate in the next shop.
_WEIGHT_SIGN: dict[str, tuple[float | None, float | None]] = {
    **{
        name: (0.0, None)
        for name in (
            "text_cosine",
            "title_cosine",
            "title_token_jaccard",
            "title_containment",
            "title_core_jaccard",
            "title_char3_jaccard",
            "brand_match",
            "price_ratio",
            "category_overlap",
            "description_char3_jaccard",
            "part_number_match",
            "numeric_agreement",
        )
    },
    **{name: (None, 0.0) for name in ("model_number_conflict", "part_number_conflict", "numeric_conflict")},
    "brand_conflict": (None, 0.0),
}


def text_cosines(
    pairs: Sequence[tuple[Product, Product]], encoder: Encoder, *, text: Callable[[Product], str] = record_text
) -> np.ndarray:
    """Embedding cosine per pair, encoding each distinct text once (``text`` picks what is embedded)."""
    texts = sorted({text(p) for pair in pairs for p in pair})
    pos = {t: i for i, t in enumerate(texts)}
    vecs = np.asarray(encoder(texts), dtype=np.float32)
    vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    ia = np.array([pos[text(a)] for a, _ in pairs], dtype=np.int64)
    ib = np.array([pos[text(b)] for _, b in pairs], dtype=np.int64)
    return np.einsum("ij,ij->i", vecs[ia], vecs[ib]) if len(pairs) else np.empty(0)


def title_cosines(pairs: Sequence[tuple[Product, Product]], encoder: Encoder) -> np.ndarray:
    """Embedding cosine of the titles only (what the first scorer was fitted on)."""
    return text_cosines(pairs, encoder, text=lambda p: str(p.get("title") or ""))


def embedded_text(scorer_meta: Mapping[str, Any]) -> Callable[[Product], str]:
    """What a scorer expects embedded: the whole record (default) or the title (first model)."""
    if scorer_meta.get("embed") == "title":
        return lambda p: str(p.get("title") or "")
    return record_text


@dataclass
class DuplicateScorer:
    """Logistic model over :func:`pair_features`; ``score`` in 0..1, ``threshold`` decides."""

    features: list[str] = field(default_factory=lambda: list(DEFAULT_FEATURES))
    coef: list[float] = field(default_factory=list)
    intercept: float = 0.0
    threshold: float = 0.5
    meta: dict[str, Any] = field(default_factory=dict)

    def needs_cosine(self) -> bool:
        names = [n for n in ("text_cosine", "title_cosine") if n in self.features]
        return any(not self.coef or self.coef[self.features.index(n)] != 0.0 for n in names)

    def cosines_for(self, pairs: Sequence[tuple[Product, Product]], encoder: Encoder | None = None) -> np.ndarray:
        if encoder is None:
            # The weights were fitted on MiniLM cosines, so the same encoder is the only
            # faithful default (process-cached, loaded on first use).
            from recommend.ml.text_encoder import get_text_encoder

            encoder = get_text_encoder().encode
        return text_cosines(pairs, encoder, text=embedded_text(self.meta))

    def matrix(
        self,
        pairs: Sequence[tuple[Product, Product]],
        cosines: Sequence[float] | np.ndarray | None = None,
        encoder: Encoder | None = None,
    ) -> np.ndarray:
        if cosines is None and (encoder is not None or self.needs_cosine()):
            cosines = self.cosines_for(pairs, encoder)
        rows = []
        for i, (a, b) in enumerate(pairs):
            f = pair_features(a, b, None if cosines is None else float(cosines[i]))
            rows.append([f[name] for name in self.features])
        return np.asarray(rows, dtype=np.float64).reshape(len(pairs), len(self.features))

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = x @ np.asarray(self.coef, dtype=np.float64) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def score_pairs(
        self,
        pairs: Sequence[tuple[Product, Product]],
        cosines: Sequence[float] | np.ndarray | None = None,
        encoder: Encoder | None = None,
    ) -> np.ndarray:
        return self.predict(self.matrix(pairs, cosines, encoder))

    def score(self, a: Product, b: Product, title_cosine: float | None = None, encoder: Encoder | None = None) -> float:
        cos = None if title_cosine is None else [title_cosine]
        return float(self.score_pairs([(a, b)], cos, encoder)[0])

    def is_duplicate(
        self, a: Product, b: Product, title_cosine: float | None = None, encoder: Encoder | None = None
    ) -> bool:
        return self.score(a, b, title_cosine, encoder) >= self.threshold

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        x_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        l2: float = 1.0,
        sample_weight: np.ndarray | None = None,
    ) -> DuplicateScorer:
        """Fit the weights on (x, y); calibrate the threshold to max F1 on (x_val, y_val).

        L2-regularised logistic regression with the sign constraints of ``_WEIGHT_SIGN``
        (scipy L-BFGS-B). ``sample_weight`` lets several sources count equally.
        """
        from scipy.optimize import minimize

        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        w_rows = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        bounds = [_WEIGHT_SIGN.get(f, (None, None)) for f in self.features] + [(None, None)]

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            z = x @ w[:-1] + w[-1]
            p = 1.0 / (1.0 + np.exp(-z))
            # log(1 + e^z) - y z, computed stably.
            nll = np.sum(w_rows * (np.logaddexp(0.0, z) - y * z))
            residual = w_rows * (p - y)
            grad = np.r_[x.T @ residual, np.sum(residual)]
            grad[:-1] += l2 * w[:-1]
            return nll + 0.5 * l2 * float(w[:-1] @ w[:-1]), grad

        res = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds)
        self.coef = [float(c) for c in res.x[:-1]]
        self.intercept = float(res.x[-1])
        if x_val is not None and y_val is not None:
            self.threshold, f1 = best_f1_threshold(y_val, self.predict(x_val))
            self.meta["val_f1"] = f1
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "features",
            "features": self.features,
            "coef": self.coef,
            "intercept": self.intercept,
            "threshold": self.threshold,
            "meta": self.meta,
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DuplicateScorer:
        return cls(
            list(d["features"]), list(d["coef"]), float(d["intercept"]), float(d["threshold"]), dict(d.get("meta", {}))
        )

    @classmethod
    def load(cls, path: str | Path) -> DuplicateScorer:
        return cls.from_dict(json.loads(Path(path).read_text()))

    @classmethod
    def default(cls) -> DuplicateScorer:
        """The out-of-the-box model fitted by ``benchmarks/matching.py`` (see the module docstring)."""
        if DEFAULT_PATH.exists():
            return cls.load(DEFAULT_PATH)
        return cls.from_dict(FIRST_MODEL)


# The first model (Flipkart proxy only, title cosine; kept as the fallback and for comparison).
FIRST_MODEL: dict[str, Any] = {
    "features": [
        *("title_cosine", "title_token_jaccard", "title_containment", "title_core_jaccard", "title_char3_jaccard"),
        *("brand_match", "brand_missing", "price_ratio", "price_missing", "category_overlap", "model_number_conflict"),
    ],
    "coef": [0.0000, 0.3540, 5.8004, 1.8753, 5.2904, 0.7568, 0.9343, 1.4398, 0.2530, 0.0413, -5.2974],
    "intercept": -11.0933,
    "threshold": 0.4611,
    "meta": {"trained_on": "flipkart_20k_joined.csv proxy pairs", "test_f1": 0.9359, "embed": "title"},
}
DEFAULT_MODEL = FIRST_MODEL
