"""Building the similar-items model: embeddings, ANN index, neighbour lists, duplicate candidates.

One build makes one `similar` ModelVersion. Its artifact (a tar: vectors, product ids, text
hashes, the FAISS index) goes through the artifact storage; its neighbour lists are rows of
`SimilarItem` for three strategies (content, behaviour, hybrid). Activation is atomic, so
requests see either the old lists or the new ones, never a half-built set. Embeddings of
products whose text did not change are reused from the previous version.
"""

import logging
import shutil
import tarfile
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from catalog.models import Interaction, Product
from recommend.core.jobs import job_handler
from recommend.core.progress import ProgressCallback
from recommend.core.registry import (
    active_version_id,
    artifact_local_path,
    model_version_activate,
    model_version_create,
    model_version_mark,
    model_version_save_artifact,
)
from recommend.models import DuplicatePair, Job, ModelVersion, SimilarItem
from recommend.services.product_text import ProductDocument, product_documents
from recommend.services.search import search_index_rebuild, search_index_update

logger = logging.getLogger(__name__)
ARTIFACT_NAME = "similar.tar"


def encode_texts(texts: Sequence[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    from recommend.ml.text_encoder import get_text_encoder

    encoder = get_text_encoder(settings.TEXT_ENCODER_PATH or None, settings.TEXT_ENCODER_PRECISION)
    return encoder.encode(list(texts), batch_size=64, progress=progress)


class SimilarityArtifact:
    """The arrays of one version, loaded once per process (vectors memory-mapped)."""

    def __init__(self, folder: Path) -> None:
        from recommend.ml.ann_index import VectorIndex

        self.folder = folder
        self.product_ids: np.ndarray = np.load(folder / "product_ids.npy")
        self.vectors: np.ndarray = np.load(folder / "vectors.npy", mmap_mode="r")
        self.text_hashes: np.ndarray = np.load(folder / "text_hashes.npy")
        self.index = VectorIndex.load(folder / "index")
        self.row_of: dict[int, int] = {int(pk): row for row, pk in enumerate(self.product_ids)}

    @classmethod
    def write(
        cls, folder: Path, product_ids: np.ndarray, vectors: np.ndarray, hashes: np.ndarray
    ) -> "SimilarityArtifact":
        from recommend.ml.ann_index import VectorIndex

        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "product_ids.npy", product_ids)
        np.save(folder / "vectors.npy", vectors)
        np.save(folder / "text_hashes.npy", hashes)
        VectorIndex(exact_max_size=settings.SIMILAR_EXACT_MAX_SIZE).build(vectors, product_ids).save(folder / "index")
        return cls(folder)

    def neighbours(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.index.search(np.asarray(vectors, dtype=np.float32), k)


_loaded: dict[int, SimilarityArtifact] = {}


def load_artifact(version: ModelVersion) -> SimilarityArtifact:
    """The version's artifact, unpacked next to its verified local copy; cached per process."""
    if version.pk not in _loaded:
        archive = artifact_local_path(version=version)
        folder = archive.parent / "unpacked"
        if not (folder / "product_ids.npy").exists():
            staging = Path(tempfile.mkdtemp(dir=archive.parent))
            with tarfile.open(archive) as tar:
                tar.extractall(staging, filter="data")
            try:
                staging.rename(folder)
            except OSError:  # another worker process unpacked it first
                shutil.rmtree(staging, ignore_errors=True)
                if not (folder / "product_ids.npy").exists():
                    raise
        _loaded.clear()  # keep one version per process: a newer one replaces it
        _loaded[version.pk] = SimilarityArtifact(folder)
    return _loaded[version.pk]


def reusable_embeddings(documents: Sequence[ProductDocument]) -> dict[int, np.ndarray]:
    """Vectors of the active version for products whose text is unchanged."""
    active = ModelVersion.objects.filter(kind=ModelVersion.Kind.SIMILAR, status=ModelVersion.Status.ACTIVE).first()
    if active is None or not active.artifact_path:
        return {}
    try:
        artifact = load_artifact(active)
    except (OSError, tarfile.TarError, ValueError) as error:
        logger.warning("cannot reuse embeddings of %s: %s", active, error)
        return {}
    reused = {}
    for document in documents:
        row = artifact.row_of.get(document.product_id)
        if row is not None and artifact.text_hashes[row].tobytes() == document.text_hash:
            reused[document.product_id] = np.asarray(artifact.vectors[row])
    return reused


def embed_documents(documents: Sequence[ProductDocument], progress: ProgressCallback) -> np.ndarray:
    """One unit vector per document, computing only those whose text changed since the active version."""
    reused = reusable_embeddings(documents)
    todo = [d for d in documents if d.product_id not in reused]
    fresh = (
        encode_texts(
            [d.text for d in todo],
            progress=lambda done, total: progress(done / total, f"embedding {done} of {total} products"),
        )
        if todo
        else None
    )
    fresh_rows = {d.product_id: i for i, d in enumerate(todo)}
    logger.info("embeddings: %d reused, %d computed", len(reused), len(todo))
    return np.stack(
        [reused[d.product_id] if d.product_id in reused else fresh[fresh_rows[d.product_id]] for d in documents]  # type: ignore[index]
    ).astype(np.float32)


def behaviour_sequences() -> list[list[int]]:
    """Each shopper's product sequence in time order (views, clicks, carts, purchases)."""
    sequences: dict[str, list[int]] = defaultdict(list)
    rows = (
        Interaction.objects.exclude(event=Interaction.Event.SEARCH)
        .filter(product__isnull=False)
        .order_by("visitor_id", "timestamp", "pk")
        .values_list("visitor_id", "product_id")
        .iterator(chunk_size=20000)
    )
    for visitor, product_id in rows:
        sequence = sequences[visitor]
        if not sequence or sequence[-1] != product_id:
            sequence.append(product_id)
    return [s for s in sequences.values() if len(s) > 1]


def exact_duplicate_keys(documents: Sequence[ProductDocument]) -> dict[int, str]:
    """Products with the same normalised title and brand are the same listing, not "similar"."""
    return {d.product_id: f"{d.title.casefold().strip()}|{d.brand.casefold()}" for d in documents}


def content_lists(
    artifact: SimilarityArtifact, vectors: np.ndarray, documents: Sequence[ProductDocument], k: int
) -> dict[int, list[tuple[int, float]]]:
    keys = exact_duplicate_keys(documents)
    copies = Counter(keys.values())
    result: dict[int, list[tuple[int, float]]] = {}

    def search(rows: np.ndarray, fetch: int) -> None:
        ids, scores = artifact.neighbours(vectors[rows], min(fetch, len(documents)))
        for offset, row in enumerate(rows):
            document = documents[row]
            own = keys[document.product_id]
            neighbours = []
            for pk, score in zip(ids[offset], scores[offset], strict=True):
                pk = int(pk)
                if pk < 0 or pk == document.product_id or keys.get(pk) == own:
                    continue
                neighbours.append((pk, float(score)))
                if len(neighbours) == k:
                    break
            result[document.product_id] = neighbours

    batch = 2048
    for start in range(0, len(documents), batch):
        search(np.arange(start, min(start + batch, len(documents))), k + 6)
    # A listing copied many times fills its first hits with its own copies: look further for those.
    short = [row for row, d in enumerate(documents) if len(result[d.product_id]) < k and copies[keys[d.product_id]] > 6]
    by_fetch: dict[int, list[int]] = defaultdict(list)
    for row in short:
        by_fetch[k + 1 + copies[keys[documents[row].product_id]]].append(row)
    for fetch, rows in by_fetch.items():
        search(np.array(rows), fetch)
    return result


def behaviour_lists(product_ids: set[int], k: int) -> dict[int, list[tuple[int, float]]]:
    from recommend.ml.cooccurrence import build_cooccurrence

    sequences = [[pk for pk in s if pk in product_ids] for s in behaviour_sequences()]
    sequences = [s for s in sequences if len(s) > 1]
    if not sequences:
        return {}
    model = build_cooccurrence(sequences, **settings.SIMILAR_BEHAVIOR_PARAMS)
    return {int(item): [(int(n), s) for n, s in neighbours] for item, neighbours in model.top_k_all(k).items()}


def hybrid_lists(
    content: dict[int, list[tuple[int, float]]], behaviour: dict[int, list[tuple[int, float]]], k: int
) -> dict[int, list[tuple[int, float, str]]]:
    from recommend.ml.cooccurrence import merge_neighbors

    weights = settings.SIMILAR_HYBRID_WEIGHTS
    result = {}
    for pk in content.keys() | behaviour.keys():
        merged = merge_neighbors(
            content.get(pk, []),
            behaviour.get(pk, []),
            content_weight=weights["content"],
            behavior_weight=weights["behavior"],
            normalization=settings.SIMILAR_HYBRID_NORMALIZATION,
            k=k,
            exclude=pk,
        )
        result[pk] = [(int(n.item), float(n.score), n.signal) for n in merged]
    return result


SimilarRow = tuple[int, str, int, int, int, float, str]
SIMILAR_COLUMNS = ("model_version_id", "strategy", "product_id", "neighbor_id", "rank", "score", "signal")


def similar_item_rows(
    version: ModelVersion,
    content: dict[int, list[tuple[int, float]]],
    behaviour: dict[int, list[tuple[int, float]]],
    hybrid: dict[int, list[tuple[int, float, str]]],
) -> Iterable[SimilarRow]:
    S = SimilarItem.Strategy
    for strategy, lists in ((S.CONTENT, content), (S.BEHAVIOR, behaviour)):
        for pk, neighbours in lists.items():
            for rank, (neighbour, score) in enumerate(neighbours):
                yield (version.pk, strategy.value, pk, neighbour, rank, score, strategy.value)
    for pk, neighbours in hybrid.items():
        for rank, (neighbour, score, signal) in enumerate(neighbours):
            yield (version.pk, S.HYBRID.value, pk, neighbour, rank, score, signal)


def write_rows(rows: Iterable[SimilarRow], batch: int = 20000) -> int:
    """Insert neighbour rows with plain parameterised INSERTs: a million rows, no model instances."""
    table = connection.ops.quote_name(SimilarItem._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in SIMILAR_COLUMNS)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(SIMILAR_COLUMNS))})"
    written, pending = 0, []
    with connection.cursor() as cursor:
        for row in rows:
            pending.append(row)
            if len(pending) >= batch:
                cursor.executemany(sql, pending)
                written, pending = written + len(pending), []
        if pending:
            cursor.executemany(sql, pending)
    return written + len(pending)


def similarity_build(*, progress: ProgressCallback, activate: bool = True) -> ModelVersion:
    """Full rebuild; returns the new (active) version. Idempotent: a failed build leaves a failed version."""
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
        # uint8 rows, not numpy "S16" strings: those drop trailing zero bytes of a digest.
        hashes = np.frombuffer(b"".join(d.text_hash for d in documents), dtype=np.uint8).reshape(len(documents), 16)
        with tempfile.TemporaryDirectory() as tmp:
            artifact_dir = Path(tmp) / "similar"
            artifact = SimilarityArtifact.write(artifact_dir, product_ids, vectors, hashes)
            progress(0.66, "finding content neighbours")
            content = content_lists(artifact, vectors, documents, k)
            archive = Path(tmp) / ARTIFACT_NAME
            with tarfile.open(archive, "w") as tar:
                for path in artifact_dir.rglob("*"):
                    if path.is_file():
                        tar.add(path, arcname=str(path.relative_to(artifact_dir)))
            model_version_save_artifact(version=version, local_path=archive)
        progress(0.75, "behavioural co-occurrence")
        behaviour = behaviour_lists(set(product_ids.tolist()), k)
        hybrid = hybrid_lists(content, behaviour, k)
        progress(0.8, "writing neighbour lists")
        with transaction.atomic():
            rows = write_rows(similar_item_rows(version, content, behaviour, hybrid))
        search_index_rebuild(documents)
        progress(0.92, "looking for duplicate listings")
        duplicates = find_duplicates(documents, vectors, version)
        metrics = {
            "products": len(documents),
            "similar_rows": rows,
            "with_behavior": len(behaviour),
            "duplicate_pairs": duplicates,
            "seconds": round(time.monotonic() - started, 1),
        }
        model_version_mark(version=version, status=ModelVersion.Status.READY, metrics=metrics)
        if activate:
            model_version_activate(version=version)
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


def find_duplicates(documents: Sequence[ProductDocument], vectors: np.ndarray, version: ModelVersion) -> int:
    """Store likely duplicate pairs; pairs staff already decided on keep their decision."""
    from recommend.ml.duplicates import mine_duplicate_candidates
    from recommend.services.duplicates import duplicate_scorer, scorer_record

    records = [scorer_record(d) for d in documents]
    prices = dict(Product.objects.filter(pk__in=[d.product_id for d in documents]).values_list("pk", "price"))
    for record, document in zip(records, documents, strict=True):
        record["price"] = float(prices[document.product_id]) if prices.get(document.product_id) is not None else None
    found = mine_duplicate_candidates(
        records, vectors, duplicate_scorer(), ids=[d.product_id for d in documents], k=settings.DUPLICATE_NEIGHBOURS
    )
    decided = set(DuplicatePair.objects.exclude(status=DuplicatePair.Status.OPEN).values_list("left_id", "right_id"))
    pairs = [
        DuplicatePair(left_id=min(a, b), right_id=max(a, b), score=score, model_version=version)
        for a, b, score in found
        if (min(a, b), max(a, b)) not in decided
    ]
    with transaction.atomic():
        DuplicatePair.objects.filter(status=DuplicatePair.Status.OPEN).delete()
        DuplicatePair.objects.bulk_create(pairs, ignore_conflicts=True, batch_size=2000)
    return len(pairs)


@dataclass(frozen=True)
class BuildSimilarParams:
    reason: str = ""
    products: int | None = None
    demo: bool = False


@job_handler(Job.Kind.BUILD_SIMILAR, queue="training", params=BuildSimilarParams, label="Build similar items")
def similarity_job(job: Any, params: BuildSimilarParams, progress: ProgressCallback) -> dict[str, Any]:
    version = similarity_build(progress=progress)
    return {"model_version": version.pk, "version": version.version, **version.metrics}


def version_has_product(*, version_id: int, product_id: int) -> bool:
    """Whether the version's build saw the product (an empty list then means "no neighbours", not "new")."""
    version = ModelVersion.objects.filter(pk=version_id).first()
    return version is not None and product_id in load_artifact(version).row_of


def live_content_neighbours(
    *, product: Product, version_id: int, limit: int, scope: str = "any"
) -> list[dict[str, Any]]:
    """Content neighbours of a product the version has not seen (new since the build): embed and search."""
    from recommend.selectors.similarity import neighbour_payload

    version = ModelVersion.objects.get(pk=version_id)
    artifact = load_artifact(version)
    documents = product_documents(product_ids=[product.pk], active_only=False)
    if not documents:
        return []
    ids, scores = artifact.neighbours(encode_texts([documents[0].text]), limit * 3 + 5)
    candidates = {int(pk): float(s) for pk, s in zip(ids[0], scores[0], strict=True) if int(pk) not in (-1, product.pk)}
    neighbours = Product.objects.filter(pk__in=candidates, is_active=True, merged_into__isnull=True).select_related(
        "brand"
    )
    if scope == "same":
        neighbours = neighbours.filter(category_id=product.category_id)
    elif scope == "other":
        neighbours = neighbours.exclude(category_id=product.category_id)
    ranked = sorted(neighbours, key=lambda p: -candidates[p.pk])[:limit]
    return [neighbour_payload(p, candidates[p.pk], SimilarItem.Signal.CONTENT) for p in ranked]


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
