"""Complements, not substitutes (issue 23 item 3): what bought together may show, read at serving time.

Two kinds of evidence qualify a suggestion:
- direct: the pair was bought together in at least `evidence_min_count` orders (the rules' pair counts);
- a category pattern: products of leaf category B are bought with products of leaf category A more often
  than chance (lift > 1 over at least `evidence_min_count` item pairs in the same orders: shoes -> socks,
  phone -> case), learnt from the active version's basket counts, so a product nobody bought yet still gets
  the complements of its category.
A same-type substitute is never shown: a near-duplicate of a given product (same title and brand, or content
vectors at RECOMMEND_NEAR_DUPLICATE_SCORE or above), or a product of a given product's leaf category, unless
that leaf is a whole department with no finer type (a flat "Groceries" as imported) and the pair has direct
evidence. Nothing here trains or re-weights the model: it filters and explains what serving shows.
"""

import threading
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from django.conf import settings

from catalog.models import Product
from recommend.bought_together.artifact import LoadedModel
from recommend.core.documents import product_documents
from recommend.core.vectors import encoder_named, stored_vectors, text_hash
from taxonomy.models import Category

MAX_COMPLEMENT_CATEGORIES = 5


@dataclass(frozen=True)
class CategoryPatterns:
    """category -> [(complement category, lift, item pairs)] strongest first; category -> item indexes by sales."""

    complements: dict[int, list[tuple[int, float, int]]] = field(default_factory=dict)
    best_sellers: dict[int, list[int]] = field(default_factory=dict)


_patterns: dict[int, tuple[LoadedModel, CategoryPatterns]] = {}
_lock = threading.Lock()


def category_patterns(loaded: LoadedModel) -> CategoryPatterns:
    """The loaded version's category-to-category co-purchase patterns, computed once per loaded model."""
    with _lock:
        cached = _patterns.get(id(loaded))
        if cached is not None and cached[0] is loaded:
            return cached[1]
    patterns = _learn(loaded)
    with _lock:
        _patterns.clear()  # one active version at a time: keep only the newest
        _patterns[id(loaded)] = (loaded, patterns)
    return patterns


def _learn(loaded: LoadedModel) -> CategoryPatterns:
    rules = loaded.scorer.rules
    categories = np.asarray(loaded.category_ids)
    with_category = np.flatnonzero(categories >= 0)
    if not len(with_category) or rules.n_items == 0:
        return CategoryPatterns()
    labels, columns = np.unique(categories[with_category], return_inverse=True)
    membership = sp.csr_matrix(
        (np.ones(len(with_category)), (with_category, columns)), shape=(rules.n_items, len(labels))
    )
    pairs = (membership.T @ sp.csr_matrix(rules.pair_counts) @ membership).toarray()  # category x category
    sold = np.asarray(membership.T @ rules.item_counts).ravel()
    baskets = max(float(rules.n_baskets), 1.0)
    minimum = loaded.evidence_min_count
    complements: dict[int, list[tuple[int, float, int]]] = {}
    for a in range(len(labels)):
        found = []
        for b in np.flatnonzero(pairs[a] >= minimum):
            if a == b or sold[a] <= 0 or sold[b] <= 0:
                continue
            lift = pairs[a, b] * baskets / (sold[a] * sold[b])
            if lift > 1.0:
                found.append((int(labels[b]), float(lift), int(pairs[a, b])))
        found.sort(key=lambda entry: (-entry[1], -entry[2]))
        if found:
            complements[int(labels[a])] = found[:MAX_COMPLEMENT_CATEGORIES]
    best_sellers: dict[int, list[int]] = {}
    for item in np.argsort(-rules.item_counts, kind="stable"):
        if rules.item_counts[item] <= 0:
            break
        if categories[item] >= 0:
            best_sellers.setdefault(int(categories[item]), []).append(int(item))
    return CategoryPatterns(complements, best_sellers)


def _title_key(title: str, brand_id: int | None) -> tuple[str, int | None]:
    return " ".join(title.casefold().split()), brand_id


def substitutes(*, given: list[int], candidates: list[int], direct: set[int]) -> set[int]:
    """The candidates that are same-type substitutes of a given product (see the module docstring)."""
    rows = {
        pk: (title, brand, category, level)
        for pk, title, brand, category, level in Product.objects.filter(pk__in=given + candidates).values_list(
            "pk", "title", "brand_id", "category_id", "category__level"
        )
    }
    given_titles = {_title_key(rows[pk][0], rows[pk][1]) for pk in given if pk in rows}
    given_leaves = {rows[pk][2]: rows[pk][3] for pk in given if pk in rows and rows[pk][2] is not None}
    out = set()
    for pk in candidates:
        if pk not in rows:
            continue
        title, brand, category, _ = rows[pk]
        if _title_key(title, brand) in given_titles:
            out.add(pk)
        elif category in given_leaves and not (given_leaves[category] == 0 and pk in direct):
            out.add(pk)  # same leaf: a type, or a flat department without direct evidence
    return out | _content_duplicates(given, [pk for pk in candidates if pk not in out])


def _content_duplicates(given: list[int], candidates: list[int]) -> set[int]:
    """Candidates whose stored content vector is a near-copy of a given product's (nothing is embedded here)."""
    if not given or not candidates:
        return set()
    encoder = encoder_named(None)
    documents = product_documents(product_ids=given + candidates, active_only=False)
    hashes = {document.product_id: text_hash(encoder.text_of(document)) for document in documents}
    vectors = stored_vectors(encoder=encoder.name, hashes=hashes.values())
    anchors = [vectors[hashes[pk]] for pk in given if pk in hashes and hashes[pk] in vectors]
    if not anchors:
        return set()
    anchor_matrix = np.stack(anchors)
    threshold = settings.RECOMMEND_NEAR_DUPLICATE_SCORE
    out = set()
    for pk in candidates:
        vector = vectors.get(hashes.get(pk, b""))
        if vector is not None and len(vector) == anchor_matrix.shape[1] and (anchor_matrix @ vector).max() >= threshold:
            out.add(pk)
    return out


def category_names(category_ids: set[int]) -> dict[int, str]:
    return dict(Category.objects.filter(pk__in=category_ids).values_list("pk", "name"))
