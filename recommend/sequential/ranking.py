"""The intent-led ranking of one request, and its occlusion check (issue 23 items 1 and 2).

`IntentRanker` reads once what the scores are made of (the model's scores for the history, the recent
items' content neighbours, the visitor's departments' popular products, each product's category and
department), ranks the candidates with `intent.score`, and re-scores the same candidates with one history
product removed (`occlusion`): a reason may name a history product only when that removal lowers the item's
score or rank materially. The variants go through the model in one batch, so the check costs one forward
pass over a handful of histories.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache

from catalog.models import Product
from recommend.core.selectors import VisitorEvent
from recommend.sequential import intent, reasons
from taxonomy.models import Category

NeighboursOf = Callable[[list[int]], dict[int, list[tuple[int, float]]]]
CONTENT_ANCHORS = 5  # the newest distinct history products whose content neighbours are candidates
CONTENT_NEIGHBOURS = 20
ROOTS_CACHE_SECONDS = 600


def intent_config() -> intent.IntentConfig:
    return intent.IntentConfig(**getattr(settings, "RECOMMEND_INTENT", {}))


def _roots() -> dict[int, tuple[int, str]]:
    """Tree id -> (root category id, name): a department is the top-level category of a live path."""
    roots = cache.get("recommend:category-roots")
    if roots is None:
        rows = Category.objects.filter(level=0).values_list("pk", "tree_id", "name")
        roots = {tree: (pk, name) for pk, tree, name in rows}
        cache.set("recommend:category-roots", roots, ROOTS_CACHE_SECONDS)
    return roots


def item_facts(product_ids: Iterable[int]) -> dict[int, intent.ItemFacts]:
    """Category and department of each product (one query; a product without a category has neither)."""
    roots = _roots()
    rows = Product.objects.filter(pk__in=list(set(product_ids))).values_list(
        "pk", "category_id", "category__name", "category__tree_id"
    )
    facts = {}
    for pk, category_id, category_name, tree_id in rows:
        root = roots.get(tree_id) if tree_id is not None else None
        facts[pk] = intent.ItemFacts(
            category_id, category_name or "", tree_id if root else None, root[1] if root else ""
        )
    return facts


def department_popular(departments: Iterable[int], per_department: int) -> tuple[dict[int, list[int]], str]:
    """(department -> its most interacted-with products, " this week" or ""): this week's counts where the week
    has any, else all time; the department's categories take turns so one big category does not fill it."""
    weekly = reasons.popular_by_category(days=7)
    popular, suffix = (weekly, " this week") if weekly else (reasons.popular_by_category(days=None), "")
    wanted = set(departments)
    trees = dict(Category.objects.filter(tree_id__in=wanted).values_list("pk", "tree_id")) if wanted else {}
    queues: dict[int, list[list[int]]] = {}
    for category, ids in popular.items():
        if category in trees:
            queues.setdefault(trees[category], []).append(ids)
    out: dict[int, list[int]] = {}
    for department, lists in queues.items():
        merged: list[int] = []
        for depth in range(max(len(ids) for ids in lists)):
            merged += [ids[depth] for ids in lists if depth < len(ids)]
            if len(merged) >= per_department:
                break
        out[department] = merged[:per_department]
    return out, suffix


def _standardised(scores: np.ndarray) -> np.ndarray:
    """Scores in standard deviations from the mean over all real items (index 0 pads), per row."""
    body = scores[:, 1:]
    mean = body.mean(axis=1, keepdims=True)
    std = body.std(axis=1, keepdims=True)
    return (scores - mean) / np.where(std > 0, std, 1.0)


@dataclass(frozen=True)
class Occlusion:
    """Removing `removed` from the history: the target's score drop and how many places it fell."""

    removed: int
    drop: float
    rank_drop: int

    @property
    def material(self) -> bool:
        by_score = self.drop >= settings.RECOMMEND_REASON_MIN_DROP
        return by_score or self.rank_drop >= settings.RECOMMEND_REASON_MIN_RANK_DROP


class IntentRanker:
    """One history's ranking: candidates from the model, recent items' content neighbours and popular products
    of the visitor's departments, ordered by intent-led score; `occlusion` re-scores them without one product."""

    def __init__(
        self,
        *,
        events: Sequence[VisitorEvent],
        exclude: set[int],
        artifact: Any,
        neighbours_of: NeighboursOf | None,
        want: int,
        popular: bool = True,
        extra: Iterable[int] = (),
    ) -> None:
        self.config = intent_config()
        self.events = list(events)
        self.history = [event.product_id for event in self.events]
        self.exclude = set(exclude)
        self.artifact = artifact
        recent = list(dict.fromkeys(reversed(self.history[-self.config.window :])))  # newest first, distinct
        neighbours = neighbours_of(recent[:CONTENT_ANCHORS]) if neighbours_of else {}
        model_z = self._model_z([self.history])
        pool: dict[int, None] = {}
        if model_z is not None:
            order = np.argsort(-model_z[0][1:], kind="stable") + 1
            ids = artifact.vocabulary.decode(int(index) for index in order[: want + len(self.exclude) + 1])
            pool.update(dict.fromkeys(pk for pk in ids if pk not in self.exclude))
            pool = dict(list(pool.items())[:want])
        for items in neighbours.values():
            pool.update(dict.fromkeys(pk for pk, _ in items if pk not in self.exclude))
        history_facts = item_facts(self.history)
        departments = {f.department_id for f in history_facts.values() if f.department_id is not None}
        popular_ids, self.popular_suffix = department_popular(departments, want) if popular else ({}, "")
        for ids in popular_ids.values():
            pool.update(dict.fromkeys(pk for pk in ids if pk not in self.exclude))
        pool.update(dict.fromkeys(extra))
        self.pool = list(pool)
        self.facts = {**history_facts, **item_facts(self.pool)}
        self.neighbours = neighbours
        self.popular_ids = popular_ids
        self.evidence = self._evidence(model_z, 0)
        self.scores = intent.score(self.history, self.pool, self.evidence, self.config)
        self.affinity = intent.affinity(self.history, self.facts, self.config)
        self.order = intent.ranked(self.scores, self.affinity, self.facts)

    def ranked_with(self, config: intent.IntentConfig) -> list[intent.Scored]:
        """The same candidates and evidence ordered under another config (a benchmark's validation grid; the pool
        was drawn with this ranker's window, so `config.window` should match it)."""
        scores = intent.score(self.history, self.pool, self.evidence, config)
        return intent.ranked(scores, intent.affinity(self.history, self.facts, config), self.facts)

    def _model_z(self, histories: list[list[int]]) -> np.ndarray | None:
        """Standardised model scores per history (None without a model or when no history product is known)."""
        if self.artifact is None:
            return None
        max_length = self.artifact.recommender.model_config.max_length
        encoded = [self.artifact.vocabulary.encode(history)[-max_length:] for history in histories]
        if not any(encoded):
            return None
        known = [history or [0] for history in encoded]
        z = _standardised(self.artifact.recommender.score(known))
        z[[row for row, history in enumerate(encoded) if not history]] = np.nan
        return z

    def _evidence(self, model_z: np.ndarray | None, row: int) -> intent.Evidence:
        model: dict[int, float] = {}
        if model_z is not None and not np.isnan(model_z[row]).all():
            index_of = self.artifact.vocabulary.index_of
            model = {pk: float(model_z[row, index_of[pk]]) for pk in self.pool if pk in index_of}
        known = self.artifact.vocabulary.index_of if self.artifact is not None else frozenset()
        return intent.Evidence(self.facts, model, self.neighbours, self.popular_ids, known)

    def occlusion(self, targets: Sequence[int], removable: Sequence[int]) -> dict[int, dict[int, Occlusion]]:
        """target -> {removed product -> Occlusion}: each removable product taken out of the history alone."""
        if not removable or not targets:
            return {target: {} for target in targets}
        variants = [[pk for pk in self.history if pk != removed] for removed in removable]
        model_z = self._model_z(variants)
        ranks = {item.product_id: position for position, item in enumerate(self.order)}
        out: dict[int, dict[int, Occlusion]] = {target: {} for target in targets}
        for row, removed in enumerate(removable):
            scores = intent.score(variants[row], self.pool, self._evidence(model_z, row), self.config)
            shares = intent.affinity(variants[row], self.facts, self.config)
            order = {
                item.product_id: position for position, item in enumerate(intent.ranked(scores, shares, self.facts))
            }
            for target in targets:
                if target not in self.scores or target not in scores:
                    continue
                drop = self.scores[target].score - scores[target].score
                out[target][removed] = Occlusion(removed, drop, order[target] - ranks[target])
        return out

    def removable(self, limit: int | None = None) -> list[int]:
        """The newest distinct history products, the ones a reason may name."""
        limit = limit or settings.RECOMMEND_OCCLUSION_ITEMS
        return list(dict.fromkeys(reversed(self.history[-self.config.window :])))[:limit]

    def newest_event(self, product_id: int) -> VisitorEvent | None:
        return next((event for event in reversed(self.events) if event.product_id == product_id), None)
