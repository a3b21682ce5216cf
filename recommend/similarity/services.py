"""Building the similar-items model (one `similar` ModelVersion) and keeping it current per product.

One build makes one version. Its artifact (a tar: vectors, product ids, text hashes, the FAISS
index) goes through the artifact storage; its neighbour lists are rows of `SimilarItem` for three
strategies (content, behaviour, hybrid). Activation is atomic, so requests see either the old
lists or the new ones, never a half-built set. Product vectors come from the core vector store, so
only products whose text changed are embedded again.

Each build is measured on the shop's held-out behaviour (`evaluation.py`: the hybrid lists against content-only
cosine on every visitor's last step) and the comparison is stored on the version. A build whose hybrid does not
beat content-only is not activated by itself while another version serves (`activate_if_beats_baseline`); the
first build is activated regardless, since nothing else would serve similar items, search or duplicate mining.
"""

import tempfile
import time
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction

from catalog.models import Product
from recommend.core.documents import product_documents
from recommend.core.evaluation import activate_if_beats_baseline, evaluation_store
from recommend.core.progress import ProgressCallback
from recommend.core.registry import (
    active_version_id,
    model_version_create,
    model_version_mark,
    model_version_save_artifact,
)
from recommend.duplicates.services import duplicates_find
from recommend.models import ModelVersion, SimilarItem
from recommend.search.services import search_index_rebuild, search_index_update
from recommend.similarity.artifact import ARTIFACT_NAME, SimilarityArtifact
from recommend.similarity.build import (
    behaviour_lists,
    content_lists,
    embed_documents,
    hybrid_lists,
    similar_item_rows,
    write_rows,
)
from recommend.similarity.evaluation import hybrid_against_content, similar_cases_label
from recommend.similarity.selectors import live_content_neighbours


def similarity_build(*, progress: ProgressCallback, activate: bool = True) -> ModelVersion:
    """Full rebuild; returns the new version (active unless its hybrid lost to content only while another version
    serves: see the module docstring). Idempotent: a failed build leaves a failed version."""
    started = time.monotonic()
    k = settings.SIMILAR_TOP_K
    progress(0.01, "loading products")
    documents = product_documents()
    if not documents:
        raise ValueError("There are no active products to build similar items for.")
    version = model_version_create(
        kind=ModelVersion.Kind.SIMILAR,
        params={"top_k": k, "hybrid_weights": settings.SIMILAR_HYBRID_WEIGHTS, "encoder": settings.TEXT_ENCODER_PATH},
    )
    try:
        vectors = embed_documents(documents, lambda f, m: progress(0.02 + 0.6 * f, m))
        progress(0.63, "building the nearest-neighbour index")
        product_ids = np.array([d.product_id for d in documents], dtype=np.int64)
        with tempfile.TemporaryDirectory() as tmp:
            artifact = SimilarityArtifact.write(Path(tmp) / "similar", product_ids, vectors)
            progress(0.66, "finding content neighbours")
            content = content_lists(artifact, vectors, documents, k)
            model_version_save_artifact(version=version, local_path=artifact.pack(Path(tmp) / ARTIFACT_NAME))
        progress(0.75, "behavioural co-occurrence")
        behaviour, weak = behaviour_lists(set(product_ids.tolist()), k)
        hybrid = hybrid_lists(content, behaviour, k, weak)
        progress(0.8, "writing neighbour lists")
        with transaction.atomic():
            rows = write_rows(similar_item_rows(version, content, behaviour, hybrid))
        search_index_rebuild(documents)
        progress(0.92, "looking for duplicate listings")
        duplicates = duplicates_find(documents=documents, vectors=vectors, version=version)
        metrics = {
            "products": len(documents),
            "similar_rows": rows,
            "with_behavior": len(behaviour),
            "duplicate_pairs": duplicates,
            "seconds": round(time.monotonic() - started, 1),
        }
        progress(0.96, "measuring the hybrid against content only on held-out visits")
        comparison = hybrid_against_content(content, set(product_ids.tolist()), k)
        model_version_mark(version=version, status=ModelVersion.Status.READY, metrics=metrics)
        if comparison is not None:
            evaluation_store(version=version, comparison=comparison, cases_label=similar_cases_label(comparison))
        if activate:
            first = not ModelVersion.objects.filter(kind=version.kind, status=ModelVersion.Status.ACTIVE).exists()
            if activate_if_beats_baseline(version=version, force=first):
                prune_old_versions()
    except Exception:
        model_version_mark(version=version, status=ModelVersion.Status.FAILED)
        raise
    return version


def prune_old_versions(keep: int = 2) -> None:
    """Neighbour rows of all but the newest `keep` versions go (the previous one stays for rollback)."""
    old = ModelVersion.objects.filter(kind=ModelVersion.Kind.SIMILAR).exclude(status=ModelVersion.Status.ACTIVE)
    stale = [v.pk for v in old.order_by("-version")[keep - 1 :]]
    SimilarItem.objects.filter(model_version_id__in=stale).delete()


def product_embed_and_link(*, product_id: int) -> int:
    """Inference task body: give one new or edited product its content and hybrid lists in the active version."""
    version_id = active_version_id(ModelVersion.Kind.SIMILAR)
    if version_id is None:
        return 0
    product = Product.objects.filter(pk=product_id, is_active=True).first()
    if product is None:
        return 0
    k = settings.SIMILAR_TOP_K
    search_index_update(product_documents(product_ids=[product_id]))
    results = live_content_neighbours(product=product, version_id=version_id, limit=k)
    S = SimilarItem.Strategy
    with transaction.atomic():
        SimilarItem.objects.filter(
            model_version_id=version_id, product_id=product_id, strategy__in=[S.CONTENT, S.HYBRID]
        ).delete()
        rows = [
            SimilarItem(
                model_version_id=version_id,
                strategy=strategy,
                product_id=product_id,
                neighbor_id=item["id"],
                rank=rank,
                score=item["score"],
                signal=SimilarItem.Signal.CONTENT,
            )
            for strategy in (S.CONTENT, S.HYBRID)
            for rank, item in enumerate(results)
        ]
        SimilarItem.objects.bulk_create(rows)
    return len(results)


def products_refresh_similar(*, product_ids: list[int]) -> dict[str, int]:
    """A few products changed (moved, merged, re-worded): update them in place, no rebuild.

    Products still listed get a fresh vector, content and hybrid lists and search row; a merged or
    hidden one leaves every list of the active version (as neighbour too), so it is not shown again.
    """
    version_id = active_version_id(ModelVersion.Kind.SIMILAR)
    if version_id is None:
        return {"linked": 0, "removed": 0}
    listed = set(
        Product.objects.filter(pk__in=product_ids, is_active=True, merged_into__isnull=True).values_list(
            "pk", flat=True
        )
    )
    gone = [pk for pk in product_ids if pk not in listed]
    removed = 0
    if gone:
        rows = SimilarItem.objects.filter(model_version_id=version_id)
        removed, _ = (rows.filter(product_id__in=gone) | rows.filter(neighbor_id__in=gone)).delete()
    linked = sum(product_embed_and_link(product_id=pk) for pk in sorted(listed))
    return {"linked": linked, "removed": removed}
