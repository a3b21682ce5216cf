"""From the shop's orders to a fitted blend: basket arrays, node features, validation-chosen weights.

Works on any shop's data loaded the normal way: products (any catalog) and purchase interactions
sharing an `order_id`. Items are all active products, so a product nobody bought yet still gets
graph scores from its category path, price band and text vector.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings

from catalog.models import Product
from recommend.core.documents import product_documents
from recommend.core.progress import ProgressCallback, scaled_progress
from recommend.core.selectors import order_baskets
from recommend.core.vectors import default_encoder_name, stored_vectors
from recommend.ml.bought_together import (
    AssociationRules,
    BlendedScorer,
    BlendWeights,
    CoPurchaseGraphModel,
    GraphConfig,
    split_by_time,
)
from recommend.ml.bought_together.baselines import PairCooccurrence, Popularity
from recommend.ml.bought_together.blend import cross_fitted_hits, grid_hits, simplest_best, weight_grid
from recommend.ml.bought_together.data import hidden_item_cases
from recommend.ml.bought_together.evaluate import case_hits
from recommend.ml.bought_together.features import item_features
from recommend.ml.bought_together.weights import recency_weights
from recommend.ml.common.comparison import Comparison, compare
from taxonomy.models import Category

MIN_VALIDATION_BASKETS = 100  # multi-item baskets in the validation dates needed to choose weights there
MIN_EVALUATION_CASES = 20  # fewer: no evaluation against the baselines is stored (and no gate applies)
MAX_VALIDATION_CASES = 2000  # the latest ones


@dataclass
class BasketData:
    product_ids: np.ndarray  # item index -> product id
    category_ids: np.ndarray  # item index -> category id, -1 without one
    root_ids: np.ndarray  # item index -> the category's tree (root) id, -1 without one
    baskets: list[list[int]]
    days: np.ndarray  # each basket's time in days (unix epoch)
    features: np.ndarray = field(repr=False)

    @property
    def n_items(self) -> int:
        return len(self.product_ids)

    def fingerprint(self) -> str:
        digest = hashlib.sha256(f"{self.n_items}:{len(self.baskets)}:{self.days.max(initial=0):.5f}".encode())
        return digest.hexdigest()[:32]


@dataclass
class FittedBlend:
    rules: AssociationRules
    graph: CoPurchaseGraphModel
    weights: BlendWeights
    metrics: dict[str, Any]
    comparison: Comparison | None = None  # the blend against its baselines on the latest orders


def config() -> dict[str, Any]:
    return dict(settings.BOUGHT_TOGETHER)


def basket_data() -> BasketData:
    """Active products as items and every order (purchases sharing an order id) as a basket."""
    documents = product_documents()
    product_ids = np.array([document.product_id for document in documents], dtype=np.int64)
    index = {int(pk): position for position, pk in enumerate(product_ids)}
    prices = dict(Product.objects.filter(pk__in=list(index)).values_list("pk", "price"))
    baskets, days = [], []
    for basket in order_baskets(min_size=1):
        items = [index[pk] for pk in basket.product_ids if pk in index]
        if items:
            baskets.append(items)
            days.append(basket.timestamp.timestamp() / 86400.0)
    features = item_features(
        category_paths=[document.category_path for document in documents],
        prices=[prices.get(int(pk)) for pk in product_ids],
        text_vectors=_stored_text_vectors(documents),
    )
    categories = np.array([document.category_id or -1 for document in documents], dtype=np.int64)
    trees = dict(Category.objects.values_list("pk", "tree_id"))
    roots = np.array([trees.get(int(category), -1) for category in categories], dtype=np.int64)
    return BasketData(product_ids, categories, roots, baskets, np.array(days, dtype=np.float64), features)


def _stored_text_vectors(documents: Sequence[Any]) -> np.ndarray | None:
    """Text vectors other builds already stored (never embeds here); None when there are none."""
    found = stored_vectors(encoder=default_encoder_name(), hashes=[document.text_hash for document in documents])
    if not found:
        return None
    dimension = len(next(iter(found.values())))
    out = np.zeros((len(documents), dimension), dtype=np.float32)
    for row, document in enumerate(documents):
        vector = found.get(document.text_hash)
        if vector is not None:
            out[row] = vector
    return out


def _fit(data: BasketData, baskets, days, options, progress: ProgressCallback | None):
    weights = recency_weights(days, half_life_days=options["half_life_days"])
    rules = AssociationRules(
        min_count=options["min_count"], min_support=options["min_support"], min_lift=options["min_lift"]
    ).fit(baskets, data.n_items, basket_weights=weights)
    graph_config = GraphConfig(dim=options["dim"], epochs=options["epochs"], lr=options["lr"], seed=0)
    graph = CoPurchaseGraphModel(graph_config).fit(
        baskets,
        n_items=data.n_items,
        pair_counts=rules.pair_counts,
        item_counts=rules.item_weights,
        features=data.features,
        basket_weights=weights,
        progress=progress,
        device=settings.TORCH_DEVICE,
    )
    return rules, graph


def fit_blend(data: BasketData, *, progress: ProgressCallback | None = None) -> FittedBlend:
    """Measure and choose the blend on the latest 20 % of orders, then refit on all orders.

    Rules and graph are fitted on the earlier 80 %; in each later order with two or more products one product is
    hidden. With enough such orders the blend's weights are chosen there (`simplest_best`: a signal that adds
    nothing gets weight 0); the blend and its baselines (pair co-occurrence, popularity, recency-weighted
    popularity, fitted on the same 80 %) are scored hit@10 per order, the blend with weights chosen on the other
    half of the orders (`cross_fitted_hits`), and compared (`FittedBlend.comparison`)."""
    progress = progress or (lambda fraction, message="": None)
    options = config()
    weights = BlendWeights(**options["weights"])
    metrics: dict[str, Any] = {"baskets": len(data.baskets), "items": data.n_items, "weights": "default"}
    fit, validation = split_by_time(data.baskets, 0.2)
    fit_days = data.days[: len(fit)]
    cases = hidden_item_cases(validation, seed=1)[-MAX_VALIDATION_CASES:]
    comparison = None
    if len(cases) >= MIN_EVALUATION_CASES:
        rules, graph = _fit(data, fit, fit_days, options, scaled_progress(progress, 0.0, 0.4))
        if len(cases) >= MIN_VALIDATION_BASKETS:
            grid = weight_grid()
            hits = grid_hits(rules=rules, graph=graph, cases=cases, grid=grid)
            means = hits.mean(axis=1)
            weights = grid[simplest_best(grid, means)]
            blend_hits = cross_fitted_hits(grid, hits)
            metrics.update({"weights": "validation", "validation.blend.hit_at_10": float(means.max())})
        else:
            blend_hits = case_hits(BlendedScorer(rules=rules, graph=graph, weights=weights).score, cases)
        baselines = {
            "pair co-occurrence": case_hits(PairCooccurrence().fit(fit, data.n_items).score, cases),
            "popularity": case_hits(Popularity().fit(fit, data.n_items).score, cases),
        }
        if options["half_life_days"]:
            recent = Popularity(recency_half_life_days=options["half_life_days"]).fit(fit, data.n_items, fit_days)
            baselines["recency-weighted popularity"] = case_hits(recent.score, cases)
        comparison = compare(
            metric="hit@10", model="blend", model_scores=blend_hits, baselines=baselines, unit="baskets"
        )
        metrics.update(
            {
                "validation.cases": len(cases),
                "validation.rules.hit_at_10": float(case_hits(rules.score, cases).mean()),
                "validation.graph.hit_at_10": float(case_hits(graph.score, cases).mean()),
                "validation.blend_held_out.hit_at_10": comparison.model_value,
                **{f"validation.{name}.hit_at_10": value for name, value in comparison.baselines.items()},
            }
        )
    rules, graph = _fit(data, data.baskets, data.days, options, scaled_progress(progress, 0.45, 0.9))
    metrics.update({f"blend.{key}": value for key, value in weights.__dict__.items()})
    metrics["rules"] = len(rules.table())
    return FittedBlend(rules, graph, weights, metrics, comparison)


def baseline_blend(data: BasketData, fitted: FittedBlend, baseline: str) -> FittedBlend:
    """The blend that serves `baseline` alone, on all orders (what serves while no evaluated blend is active):
    pair co-occurrence = the rules with a vanishing popularity prior (popularity only breaks ties); popularity =
    the popularity part; both from plain counts, recency-weighted popularity from the recency-weighted counts."""
    options = config()
    weighted = baseline == "recency-weighted popularity" and options["half_life_days"]
    rules = AssociationRules(
        min_count=options["min_count"], min_support=options["min_support"], min_lift=options["min_lift"]
    ).fit(
        data.baskets,
        data.n_items,
        basket_weights=recency_weights(data.days, half_life_days=options["half_life_days"]) if weighted else None,
    )
    if baseline == "pair co-occurrence":
        weights = BlendWeights(rules=1.0, graph=0.0, popularity=0.0, prior_strength=1e-6)
    else:
        weights = BlendWeights(rules=0.0, graph=0.0, popularity=1.0)
    metrics = {"serves_baseline": baseline, "baskets": len(data.baskets), "items": data.n_items}
    metrics.update({f"blend.{key}": value for key, value in weights.__dict__.items()})
    return FittedBlend(rules, fitted.graph, weights, {**metrics, "rules": len(rules.table())})


def scorer_of(fitted: FittedBlend) -> BlendedScorer:
    return BlendedScorer(rules=fitted.rules, graph=fitted.graph, weights=fitted.weights)
