"""Steps of the similar-items build: embeddings, content / behaviour / hybrid lists, the neighbour rows.

`services.similarity_build` runs them in order; each step takes plain data and returns plain data.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
from django.conf import settings
from django.db import connection

from recommend.core.documents import ProductDocument
from recommend.core.progress import ProgressCallback
from recommend.core.selectors import visitor_sequences
from recommend.core.vectors import product_vectors, product_vectors_prune
from recommend.ml.grouped_search import fill_from, grouped_top_k
from recommend.models import ModelVersion, SimilarItem
from recommend.similarity.artifact import SimilarityArtifact

Neighbours = dict[int, list[tuple[int, float]]]


def embed_documents(documents: Sequence[ProductDocument], progress: ProgressCallback) -> np.ndarray:
    """One unit vector per document from the core vector store (only changed texts are embedded)."""
    _ids, vectors = product_vectors(documents=documents, progress=progress)
    product_vectors_prune(keep_hashes=(document.text_hash for document in documents))
    return vectors


def exact_duplicate_keys(documents: Sequence[ProductDocument]) -> dict[int, str]:
    """Products with the same normalised title and brand are the same listing, not "similar"."""
    return {d.product_id: f"{d.title.casefold().strip()}|{d.brand.casefold()}" for d in documents}


def content_lists(
    artifact: SimilarityArtifact, vectors: np.ndarray, documents: Sequence[ProductDocument], k: int
) -> Neighbours:
    """Nearest products of the same category first (substitutes, not accessories), then the nearest of all."""
    keys = exact_duplicate_keys(documents)
    within = same_category_lists(vectors, documents, keys, k)
    anywhere = global_content_lists(artifact, vectors, documents, keys, k)
    return {pk: fill_from(within.get(pk, []), neighbours, k) for pk, neighbours in anywhere.items()}


def same_category_lists(
    vectors: np.ndarray, documents: Sequence[ProductDocument], keys: dict[int, str], k: int
) -> Neighbours:
    groups = np.array([d.category_id if d.category_id is not None else -1 for d in documents], dtype=np.int64)
    ids, scores = grouped_top_k(vectors, groups, k + 6)
    result: Neighbours = {}
    for row, document in enumerate(documents):
        own = keys[document.product_id]
        neighbours = [
            (documents[int(other)].product_id, float(score))
            for other, score in zip(ids[row], scores[row], strict=True)
            if other >= 0 and keys[documents[int(other)].product_id] != own
        ]
        result[document.product_id] = neighbours[:k]
    return result


def global_content_lists(
    artifact: SimilarityArtifact,
    vectors: np.ndarray,
    documents: Sequence[ProductDocument],
    keys: dict[int, str],
    k: int,
) -> Neighbours:
    copies = Counter(keys.values())
    result: Neighbours = {}

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


def behaviour_lists(
    product_ids: set[int], k: int, sequences: Iterable[list[int]] | None = None
) -> tuple[Neighbours, dict[int, set[int]]]:
    """Co-occurrence neighbours, and per product the neighbours seen by too few visitors to outrank content.

    `sequences`: the visitors' product sequences to learn from (default: every visitor's, `visitor_sequences`)."""
    from recommend.ml.cooccurrence import build_cooccurrence, pair_support, thinly_supported

    given = visitor_sequences().values() if sequences is None else sequences
    sequences = [[pk for pk in s if pk in product_ids] for s in given]
    sequences = [s for s in sequences if len(s) > 1]
    if not sequences:
        return {}, {}
    params = settings.SIMILAR_BEHAVIOR_PARAMS
    model = build_cooccurrence(sequences, **params)
    lists = {int(item): [(int(n), s) for n, s in neighbours] for item, neighbours in model.top_k_all(k).items()}
    support = pair_support(sequences, params.get("window", 3))
    minimum = settings.SIMILAR_BEHAVIOR_MIN_VISITORS
    weak = {pk: thinly_supported(pk, neighbours, support, minimum) for pk, neighbours in lists.items()}
    return lists, weak


def hybrid_lists(
    content: Neighbours, behaviour: Neighbours, k: int, weak: dict[int, set[int]] | None = None
) -> dict[int, list[tuple[int, float, str]]]:
    from recommend.ml.cooccurrence import merge_neighbors

    weights = settings.SIMILAR_HYBRID_WEIGHTS
    weak = weak or {}
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
            weak=weak.get(pk, ()),
        )
        result[pk] = [(int(n.item), float(n.score), n.signal) for n in merged]
    return result


SimilarRow = tuple[int, str, int, int, int, float, str]
SIMILAR_COLUMNS = ("model_version_id", "strategy", "product_id", "neighbor_id", "rank", "score", "signal")


def similar_item_rows(
    version: ModelVersion,
    content: Neighbours,
    behaviour: Neighbours,
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
