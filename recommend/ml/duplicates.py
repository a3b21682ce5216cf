"""Near-duplicate product detection: pair features, a tiny logistic model, candidate mining.

What "duplicate" means here
---------------------------
Two listings are duplicates when they describe the same catalog product and differ at
most in variant attributes (colour, size, design, pack) or wording: the pairs a
merchandiser would merge into one product page with variants. Two different products of
the same brand in the same category (other model, other model number, other design
name) are not duplicates.

Training labels (``build_labelled_pairs_from_flipkart``)
--------------------------------------------------------
The Flipkart sample has no duplicate labels and its ``pid`` is unique per row (2
repeats in 20k), so the proxy is: rows with the same normalised ``product_name`` and the
same category path (without the leaf) are listings of one product. In the data these
are real variant listings: different pids, often different prices and colours/sizes
(e.g. 4 "Knighthood Alloy Bracelet" rows at 1299-1599). Their names are identical,
which would make "title equal" a perfect but useless rule, so one side of *every*
pair (positive or negative alike, so the rewrite itself carries no label) gets a
seeded rewrite of the kind seen across marketplaces: the category leaf text when it is
a longer version of the title, brand dropped, a colour/size suffix, changed case,
swapped words, truncation with "...". Negatives: random pairs (easy) and hard
negatives from the same level-3 category, same brand where possible. So positives are
real, the wording noise is synthetic, and some "hard negatives" are arguably variants
(label noise); the reported scores are on this proxy, not on human labels.

Model and threshold
-------------------
Features (all in 0..1): MiniLM title cosine (precomputed, or via an ``encoder``
callable, default the cached MiniLM of ``text_encoder``), token Jaccard, token
containment, "core" Jaccard (colour/size/number tokens removed, so variants match),
char-trigram Jaccard, brand match + brand missing, price ratio min/max + price missing,
category prefix overlap. A logistic regression (L2, with sign constraints so that more similarity never lowers
the score; scipy L-BFGS-B) is fitted on a train split
(split by product group, so no product is on both sides); the decision threshold is
the one that maximises F1 on the validation split (precision-recall sweep), and the
test split is only used for reporting. The result is a few numbers saved as JSON and
applied with numpy; description similarity is available as a feature but the default
model does not use it because the 20k training rows carry no descriptions.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

Product = Mapping[str, Any]
Encoder = Callable[[list[str]], np.ndarray]

COLOURS = frozenset(
    {
        *("black", "white", "red", "blue", "green", "yellow", "pink", "purple", "orange", "brown", "grey", "gray"),
        *("silver", "gold", "beige", "navy", "maroon", "multicolor", "multicolour", "cream", "olive", "teal"),
        *("peach", "khaki", "tan", "violet", "magenta", "turquoise"),
    }
)
SIZE_WORDS = frozenset(
    {
        *("xs", "s", "m", "l", "xl", "xxl", "xxxl", "small", "medium", "large", "free", "size"),
        *("inch", "cm", "mm", "ml", "kg", "g", "gb", "tb", "pack", "of", "set"),
    }
)
_TOKEN = re.compile(r"[a-z0-9]+")
_NUMBER = re.compile(r"^\d+[a-z]*$")


def tokens(text: str | None) -> list[str]:
    # Naive plural folding ("shoes" == "shoe") so singular/plural wording is no mismatch.
    return [
        t[:-1] if len(t) > 3 and t.endswith("s") and not t.endswith("ss") else t
        for t in _TOKEN.findall((text or "").lower())
    ]


def core_tokens(text: str | None) -> set[str]:
    """Tokens minus colour, size and number-with-unit words (what variants differ in)."""
    return {t for t in tokens(text) if t not in COLOURS and t not in SIZE_WORDS and not _NUMBER.match(t)}


def model_numbers(text: str | None) -> set[str]:
    """Digit-bearing tokens that are not sizes ("531", "ce4"; not "500 ml", "18k" stays).

    Different model numbers are the strongest sign of different products in one line.
    """
    toks = tokens(text)
    out = set()
    for i, t in enumerate(toks):
        if not any(c.isdigit() for c in t) or t in SIZE_WORDS:
            continue
        unit = t.lstrip("0123456789")
        next_is_unit = i + 1 < len(toks) and toks[i + 1] in SIZE_WORDS
        if unit in SIZE_WORDS or next_is_unit:
            continue
        out.add(t)
    return out


def char_ngrams(text: str | None, n: int = 3) -> set[str]:
    s = " ".join(tokens(text))
    s = f" {s} "
    return {s[i : i + n] for i in range(max(len(s) - n + 1, 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _category_parts(cat: Any) -> list[str]:
    if not cat:
        return []
    if isinstance(cat, str):
        return [p.strip().lower() for p in cat.split(">>") if p.strip()]
    return [str(p).strip().lower() for p in cat]


def _price(p: Any) -> float | None:
    try:
        v = float(p)
    except (TypeError, ValueError):
        return None
    return v if v > 0 and math.isfinite(v) else None


def _ngram_cosine(a: str, b: str) -> float:
    ga, gb = char_ngrams(a), char_ngrams(b)
    return len(ga & gb) / math.sqrt(len(ga) * len(gb)) if ga and gb else 0.0


DEFAULT_FEATURES = [
    "title_cosine",
    "title_token_jaccard",
    "title_containment",
    "title_core_jaccard",
    "title_char3_jaccard",
    "brand_match",
    "brand_missing",
    "price_ratio",
    "price_missing",
    "category_overlap",
    "model_number_conflict",
]


# Sign constraints for ``DuplicateScorer.fit`` (features not listed are unconstrained).
_WEIGHT_SIGN: dict[str, tuple[float | None, float | None]] = {
    "title_cosine": (0.0, None),
    "title_token_jaccard": (0.0, None),
    "title_containment": (0.0, None),
    "title_core_jaccard": (0.0, None),
    "title_char3_jaccard": (0.0, None),
    "brand_match": (0.0, None),
    "price_ratio": (0.0, None),
    "category_overlap": (0.0, None),
    "description_char3_jaccard": (0.0, None),
    "model_number_conflict": (None, 0.0),
}


def pair_features(a: Product, b: Product, title_cosine: float | None = None) -> dict[str, float]:
    """All pair features; ``title_cosine`` should be the embedding cosine of the titles
    (without it a char-trigram cosine stands in, which the fitted weights do not expect)."""
    ta, tb = a.get("title") or "", b.get("title") or ""
    sa, sb = set(tokens(ta)), set(tokens(tb))
    brand_a, brand_b = (a.get("brand") or "").strip().lower(), (b.get("brand") or "").strip().lower()
    pa, pb = _price(a.get("price")), _price(b.get("price"))
    ca, cb = _category_parts(a.get("category")), _category_parts(b.get("category"))
    common = 0
    for x, y in zip(ca, cb, strict=False):
        if x != y:
            break
        common += 1
    da, db = a.get("description") or "", b.get("description") or ""
    na, nb = model_numbers(ta), model_numbers(tb)
    return {
        "title_cosine": float(title_cosine) if title_cosine is not None else _ngram_cosine(ta, tb),
        "title_token_jaccard": jaccard(sa, sb),
        "title_containment": len(sa & sb) / min(len(sa), len(sb)) if sa and sb else 0.0,
        "title_core_jaccard": jaccard(core_tokens(ta), core_tokens(tb)),
        "title_char3_jaccard": jaccard(char_ngrams(ta), char_ngrams(tb)),
        "brand_match": float(bool(brand_a) and brand_a == brand_b),
        "brand_missing": float(not brand_a or not brand_b),
        "price_ratio": min(pa, pb) / max(pa, pb) if pa and pb else 0.0,
        "price_missing": float(not (pa and pb)),
        "category_overlap": common / max(len(ca), len(cb)) if ca and cb else 0.0,
        # Conflict only if neither set contains the other: "Pegasus 38" vs "Pegasus 38 (Black, 42)" is fine.
        "model_number_conflict": float(bool(na) and bool(nb) and not (na <= nb or nb <= na)),
        "description_char3_jaccard": jaccard(char_ngrams(da), char_ngrams(db)) if da and db else 0.0,
        "description_missing": float(not (da and db)),
    }


def title_cosines(pairs: Sequence[tuple[Product, Product]], encoder: Encoder) -> np.ndarray:
    """Embedding cosine per pair, encoding each distinct title once."""
    titles = sorted({p.get("title") or "" for pair in pairs for p in pair})
    pos = {t: i for i, t in enumerate(titles)}
    vecs = np.asarray(encoder(titles), dtype=np.float32)
    vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    ia = np.array([pos[a.get("title") or ""] for a, _ in pairs], dtype=np.int64)
    ib = np.array([pos[b.get("title") or ""] for _, b in pairs], dtype=np.int64)
    return np.einsum("ij,ij->i", vecs[ia], vecs[ib]) if len(pairs) else np.empty(0)


@dataclass
class DuplicateScorer:
    """Logistic model over :func:`pair_features`; ``score`` in 0..1, ``threshold`` decides."""

    features: list[str] = field(default_factory=lambda: list(DEFAULT_FEATURES))
    coef: list[float] = field(default_factory=list)
    intercept: float = 0.0
    threshold: float = 0.5
    meta: dict[str, Any] = field(default_factory=dict)

    def matrix(
        self,
        pairs: Sequence[tuple[Product, Product]],
        cosines: Sequence[float] | np.ndarray | None = None,
        encoder: Encoder | None = None,
    ) -> np.ndarray:
        needs_cosine = "title_cosine" in self.features and (
            not self.coef or self.coef[self.features.index("title_cosine")] != 0.0
        )
        if cosines is None and (encoder is not None or needs_cosine):
            if encoder is None:
                # The weights were fitted on MiniLM cosines, so the same encoder is the
                # only faithful default (process-cached, loaded on first use).
                from recommend.ml.text_encoder import get_text_encoder

                encoder = get_text_encoder()
            cosines = title_cosines(pairs, encoder)
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
    ) -> DuplicateScorer:
        """Fit the weights on (x, y); calibrate the threshold to max F1 on (x_val, y_val).

        L2-regularised logistic regression with sign constraints: similarity and match
        features may only raise the score (weight >= 0), conflict features only lower it.
        Unconstrained, the correlated title similarities get weights of opposite sign
        (e.g. a negative embedding-cosine weight) that fit the proxy labels but would
        punish a re-worded duplicate that only the embedding recognises.
        """
        from scipy.optimize import minimize

        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        bounds = [_WEIGHT_SIGN.get(f, (None, None)) for f in self.features] + [(None, None)]

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            z = x @ w[:-1] + w[-1]
            p = 1.0 / (1.0 + np.exp(-z))
            # log(1 + e^z) - y z, computed stably.
            nll = np.sum(np.logaddexp(0.0, z) - y * z)
            grad = np.r_[x.T @ (p - y), np.sum(p - y)]
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
        """The model fitted by ``benchmarks/similarity.py`` on the Flipkart proxy labels."""
        return cls.from_dict(DEFAULT_MODEL)


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


# Fitted by ``benchmarks/similarity.py --only duplicates`` (copy of
# benchmarks/results/duplicate_scorer.json). On the Flipkart proxy the embedding cosine
# ends at weight 0 under the sign constraint: the lexical features already separate
# lexically re-worded variants, and the hard negatives are semantically close by
# construction, so the proxy cannot reward it (it would, for synonym re-wordings).
# Test F1 0.936 (val 0.943); embedding cosine alone: 0.817.
DEFAULT_MODEL: dict[str, Any] = {
    "features": DEFAULT_FEATURES,
    "coef": [0.0000, 0.3540, 5.8004, 1.8753, 5.2904, 0.7568, 0.9343, 1.4398, 0.2530, 0.0413, -5.2974],
    "intercept": -11.0933,
    "threshold": 0.4611,
    "meta": {"trained_on": "flipkart_20k_joined.csv proxy pairs", "test_f1": 0.9359},
}


# --------------------------------------------------------------------------- labels


def _flipkart_path(tree: str) -> list[str]:
    try:
        parsed = json.loads(tree)
        return [p.strip() for p in parsed[0].split(">>")] if parsed else []
    except (TypeError, ValueError, IndexError):
        return []


def flipkart_product(row: Mapping[str, Any]) -> dict[str, Any]:
    """A Flipkart CSV row as a scorer product (category = first 3 levels of the tree)."""
    path = _flipkart_path(row.get("product_category_tree", ""))
    return {
        "title": row.get("product_name", ""),
        "brand": row.get("brand", ""),
        "price": _price(row.get("discounted_price")) or _price(row.get("retail_price")),
        "category": " >> ".join(path[:3]),
        "leaf": path[-1] if len(path) > 1 else "",
    }


def reword(product: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    """A re-worded copy of a listing (see the module docstring); ``rng`` makes it repeatable."""
    p = dict(product)
    title, leaf = str(p.get("title") or ""), str(p.get("leaf") or "")
    if len(leaf) > len(title) and leaf.lower().startswith(title.lower()) and rng.random() < 0.7:
        title = leaf  # real longer wording from the data, e.g. "... Vase (6 inch, Black)"
    brand = str(p.get("brand") or "")
    if brand and title.lower().startswith(brand.lower() + " ") and rng.random() < 0.3:
        title = title[len(brand) + 1 :]
    words = title.split()
    if len(words) > 3 and rng.random() < 0.3:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    title = " ".join(words)
    if rng.random() < 0.35:
        colour = rng.choice(sorted(COLOURS)).title()
        title += rng.choice(
            [f" ({colour})", f" ({colour}, {rng.choice(['S', 'M', 'L', 'XL'])})", " - Pack of 2", f" {colour}"]
        )
    if rng.random() < 0.2:
        title = title.lower() if rng.random() < 0.5 else title.upper()
    if len(title) > 30 and rng.random() < 0.15:
        title = title[: int(len(title) * 0.7)].rstrip() + "..."
    p["title"] = title
    return p


@dataclass
class LabelledPair:
    a: dict[str, Any]
    b: dict[str, Any]
    label: int
    group: str  # product group of ``a``; split on it so no product is in two splits
    kind: str  # "positive", "random" or "hard"


def build_labelled_pairs_from_flipkart(
    rows: Sequence[Mapping[str, Any]],
    *,
    seed: int = 0,
    max_positives_per_group: int = 3,
    random_negatives_per_positive: float = 1.0,
    hard_negatives_per_positive: float = 1.5,
) -> list[LabelledPair]:
    """Labelled duplicate / non-duplicate pairs from Flipkart rows (see module docstring)."""
    rng = random.Random(seed)
    products = [flipkart_product(r) for r in rows]
    keys = []
    for r, p in zip(rows, products, strict=True):
        path = _flipkart_path(r.get("product_category_tree", ""))
        keys.append(" ".join(tokens(p["title"])) + " | " + " >> ".join(path[:-1]).lower())
    groups: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        groups[k].append(i)
    by_cat: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(products):
        if p["category"]:
            by_cat[p["category"]].append(i)

    pairs: list[LabelledPair] = []
    for key in sorted(groups):
        members = groups[key]
        if len(members) < 2:
            continue
        candidates = [(members[i], members[j]) for i in range(len(members)) for j in range(i + 1, len(members))]
        for i, j in rng.sample(candidates, min(max_positives_per_group, len(candidates))):
            pairs.append(LabelledPair(products[i], reword(products[j], rng), 1, key, "positive"))
    n_pos = len(pairs)
    n = len(products)
    for _ in range(int(n_pos * random_negatives_per_positive)):
        i, j = rng.randrange(n), rng.randrange(n)
        if keys[i] != keys[j]:
            pairs.append(LabelledPair(products[i], reword(products[j], rng), 0, keys[i], "random"))
    cats = [c for c in sorted(by_cat) if len(by_cat[c]) > 1]
    for _ in range(int(n_pos * hard_negatives_per_positive)):
        members = by_cat[rng.choice(cats)]
        i = rng.choice(members)
        same_brand = [
            m
            for m in members
            if products[m]["brand"] and products[m]["brand"] == products[i]["brand"] and keys[m] != keys[i]
        ]
        pool = same_brand if same_brand and rng.random() < 0.7 else members
        j = rng.choice(pool)
        if keys[i] != keys[j]:
            pairs.append(LabelledPair(products[i], reword(products[j], rng), 0, keys[i], "hard"))
    return pairs


def split_by_group(
    pairs: Sequence[LabelledPair], val: float = 0.2, test: float = 0.2, seed: int = 0
) -> tuple[list, list, list]:
    """Train/val/test split with every product group in exactly one part."""
    groups = sorted({p.group for p in pairs})
    random.Random(seed).shuffle(groups)
    n_test, n_val = int(len(groups) * test), int(len(groups) * val)
    part = {g: 2 for g in groups[:n_test]} | {g: 1 for g in groups[n_test : n_test + n_val]}
    out: tuple[list, list, list] = ([], [], [])
    for p in pairs:
        out[part.get(p.group, 0)].append(p)
    return out


# ------------------------------------------------------------------- candidate mining


def mine_duplicate_candidates(
    products: Sequence[Product],
    vectors: np.ndarray,
    scorer: DuplicateScorer | None = None,
    *,
    ids: Sequence[Any] | None = None,
    k: int = 10,
    min_cosine: float = 0.75,
    threshold: float | None = None,
) -> list[tuple[Any, Any, float]]:
    """Likely duplicate pairs ``(id_a, id_b, score)`` in a catalog, best first.

    Only the ``k`` nearest title embeddings of each product are scored (ANN index, so
    O(n k) pairs instead of O(n^2)); pairs below ``min_cosine`` are skipped before the
    slower string features. ``vectors`` are the title embeddings, row-aligned with
    ``products``.
    """
    from recommend.ml.ann_index import VectorIndex

    scorer = scorer or DuplicateScorer.default()
    threshold = scorer.threshold if threshold is None else threshold
    ids = list(range(len(products))) if ids is None else list(ids)
    index = VectorIndex().build(vectors)
    nbrs, sims = index.search(vectors, min(k + 1, len(products)))
    cand: dict[tuple[int, int], float] = {}
    for i in range(len(products)):
        for j, s in zip(nbrs[i], sims[i], strict=True):
            if j < 0 or j == i or s < min_cosine:
                continue
            cand[(min(i, int(j)), max(i, int(j)))] = float(s)
    keys = list(cand)
    if not keys:
        return []
    scores = scorer.score_pairs([(products[i], products[j]) for i, j in keys], [cand[key] for key in keys])
    found = [(ids[i], ids[j], float(s)) for (i, j), s in zip(keys, scores, strict=True) if s >= threshold]
    return sorted(found, key=lambda t: -t[2])
