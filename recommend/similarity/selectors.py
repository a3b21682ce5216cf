"""Reads of similar items: precomputed lists of the active version, with cold-start fallbacks.

Also the public semantic read other capabilities may use (`semantic_neighbours`: search), so the
ANN index of the active version has one owner.
"""

from typing import Any

from django.conf import settings
from django.core.cache import cache

from catalog.models import Product
from recommend.core import vectors as core_vectors
from recommend.core.documents import product_documents
from recommend.core.payloads import payload_from_values, product_payload, product_url_prefix
from recommend.core.registry import active_version_id
from recommend.core.vectors import product_vectors
from recommend.models import ModelVersion, SimilarItem
from recommend.similarity.artifact import active_artifact, load_artifact

CATEGORY_SCOPES = ("any", "same", "other")

STORED_COLUMNS = (
    "neighbor_id",
    "neighbor__title",
    "neighbor__brand__name",
    "neighbor__price",
    "neighbor__currency",
    "neighbor__image_url",
    "score",
    "signal",
)


def _stored(version_id: int, product: Product, strategy: str, limit: int, scope: str) -> list[dict[str, Any]]:
    """The stored list as API payloads, read as plain values (this is the hot path of the similar endpoint)."""
    queryset = SimilarItem.objects.filter(
        model_version_id=version_id,
        strategy=strategy,
        product_id=product.pk,
        neighbor__is_active=True,
        neighbor__merged_into__isnull=True,
    )
    if scope == "same":
        queryset = queryset.filter(neighbor__category_id=product.category_id)
    elif scope == "other":
        queryset = queryset.exclude(neighbor__category_id=product.category_id)
    url_prefix = product_url_prefix()
    return [
        payload_from_values(row, url_prefix) for row in queryset.order_by("rank").values_list(*STORED_COLUMNS)[:limit]
    ]


def similar_products(
    *, product: Product, strategy: str, limit: int, scope: str = "any", version_id: int | None = None
) -> dict[str, Any]:
    """{"model_version", "strategy", "fallback", "results": [...]} for the active similar-items version
    (or `version_id`: an experiment's arm).

    Cold start: a product without behaviour gets its content neighbours (fallback="content");
    a product newer than the version is embedded on the fly and searched in the version's index.
    """
    version_id = version_id or active_version_id(ModelVersion.Kind.SIMILAR)
    if version_id is None:
        return {"model_version": None, "strategy": strategy, "fallback": None, "results": []}
    key = f"similar:{version_id}:{product.pk}:{product.category_id}:{strategy}:{limit}:{scope}"
    payload = cache.get(key)
    if payload is not None:
        return payload
    fallback = None
    results = _stored(version_id, product, strategy, limit, scope)
    if not results and strategy != SimilarItem.Strategy.CONTENT:
        fallback = SimilarItem.Strategy.CONTENT
        results = _stored(version_id, product, SimilarItem.Strategy.CONTENT, limit, scope)
    if not results and _new_since_build(version_id, product):
        fallback = "live_content"
        results = live_content_neighbours(product=product, version_id=version_id, limit=limit, scope=scope)
    payload = {"model_version": version_id, "strategy": strategy, "fallback": fallback, "results": results}
    cache.set(key, payload, settings.SIMILAR_CACHE_SECONDS)
    return payload


def _new_since_build(version_id: int, product: Product) -> bool:
    """No stored row at all and unknown to the version's artifact: the product came after the build."""
    if SimilarItem.objects.filter(model_version_id=version_id, product_id=product.pk).exists():
        return False
    return not version_has_product(version_id=version_id, product_id=product.pk)


def version_has_product(*, version_id: int, product_id: int) -> bool:
    """Whether the version's build saw the product (an empty list then means "no neighbours", not "new")."""
    version = ModelVersion.objects.filter(pk=version_id).first()
    return version is not None and product_id in load_artifact(version).row_of


def live_content_neighbours(
    *, product: Product, version_id: int, limit: int, scope: str = "any"
) -> list[dict[str, Any]]:
    """Content neighbours of a product the version has not seen (new since the build): embed and search."""
    version = ModelVersion.objects.get(pk=version_id)
    artifact = load_artifact(version)
    documents = product_documents(product_ids=[product.pk], active_only=False)
    if not documents:
        return []
    _ids, vectors = product_vectors(documents=documents)
    ids, scores = artifact.neighbours(vectors, limit * 3 + 5)
    candidates = {int(pk): float(s) for pk, s in zip(ids[0], scores[0], strict=True) if int(pk) not in (-1, product.pk)}
    neighbours = Product.objects.filter(pk__in=candidates, is_active=True, merged_into__isnull=True).select_related(
        "brand"
    )
    if scope == "same":
        neighbours = neighbours.filter(category_id=product.category_id)
    elif scope == "other":
        neighbours = neighbours.exclude(category_id=product.category_id)
    # Same category first, as the build does (substitutes before accessories).
    ranked = sorted(neighbours, key=lambda p: (p.category_id != product.category_id, -candidates[p.pk]))[:limit]
    return [product_payload(p, candidates[p.pk], SimilarItem.Signal.CONTENT) for p in ranked]


def semantic_neighbours(*, text: str, limit: int) -> list[tuple[int, float]]:
    """(product id, cosine) of the products nearest to a free text in the active version's index."""
    loaded = active_artifact()
    if loaded is None:
        return []
    ids, scores = loaded[1].neighbours(core_vectors.encode_query(text), limit)
    return [(int(pk), float(score)) for pk, score in zip(ids[0], scores[0], strict=True) if int(pk) >= 0]
