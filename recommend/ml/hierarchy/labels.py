"""Readable node descriptions: class-based TF-IDF labels, example titles and a cohesion score per cluster.

c-TF-IDF (as in BERTopic): treat all titles of a cluster as one document, weight each term's frequency in it by
``log(1 + average words per cluster / term frequency over all clusters)``. A node's label is its best terms,
preferring terms that are not its parent's label, so "Men > Shoes > Sneakers" reads as a path and not as
"shoes > shoes > shoes".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from recommend.ml.hierarchy.features import title_tokens


@dataclass
class NodeDescription:
    label: str
    terms: list[str]
    size: int
    examples: list[int]  # row indices of the members closest to the centroid
    cohesion: float  # mean cosine of the members to their centroid, 0..1


def class_tfidf(titles: Sequence[str], labels: np.ndarray, clusters: int) -> tuple[np.ndarray, list[str]]:
    """A (clusters x vocabulary) c-TF-IDF matrix and its vocabulary (words and word pairs)."""
    documents = [" ".join(title_tokens(title)) for title in titles]
    vectorizer = CountVectorizer(token_pattern=r"\S+", ngram_range=(1, 2), min_df=2)
    try:
        counts = vectorizer.fit_transform(documents)
    except ValueError:  # every term occurs once (tiny inputs): fall back to all single words
        vectorizer = CountVectorizer(token_pattern=r"\S+")
        counts = vectorizer.fit_transform(documents)
    membership = sparse.csr_matrix(
        (np.ones(len(labels), dtype=np.float32), (labels, np.arange(len(labels)))), shape=(clusters, len(labels))
    )
    per_class = np.asarray((membership @ counts).todense(), dtype=np.float64)
    term_frequency = per_class / np.maximum(per_class.sum(axis=1, keepdims=True), 1)
    average_words = per_class.sum() / max(clusters, 1)
    idf = np.log1p(average_words / np.maximum(per_class.sum(axis=0), 1))
    return term_frequency * idf, list(vectorizer.get_feature_names_out())


def describe_clusters(
    titles: Sequence[str],
    vectors: np.ndarray,
    labels: np.ndarray,
    *,
    parent_labels: Sequence[str] | None = None,
    parent_of: np.ndarray | None = None,
    terms: int = 3,
    examples: int = 3,
    stop_terms: frozenset[str] = frozenset(),
) -> list[NodeDescription]:
    """One description per cluster id in `labels` (0..max).

    `stop_terms` (lower-case words, e.g. brand names) never label a node: a brand is distinctive for a
    cluster but says nothing about the kind of product in it. Examples are distinct titles.
    """
    clusters = int(labels.max()) + 1 if len(labels) else 0
    scores, vocabulary = class_tfidf(titles, labels, clusters)
    descriptions = []
    for cluster in range(clusters):
        members = np.flatnonzero(labels == cluster)
        avoid = set(stop_terms)
        if parent_labels is not None and parent_of is not None and parent_of[cluster] >= 0:
            avoid |= set(parent_labels[parent_of[cluster]].lower().split(" / "))
        best = _top_terms(scores[cluster], vocabulary, terms, avoid)
        centroid = vectors[members].mean(axis=0) if len(members) else np.zeros(vectors.shape[1])
        norm = float(np.linalg.norm(centroid))
        similarity = vectors[members] @ (centroid / max(norm, 1e-9)) if len(members) else np.zeros(0)
        closest = _distinct_examples(titles, members[np.argsort(-similarity)], examples)
        descriptions.append(
            NodeDescription(
                label=" / ".join(term.title() for term in best[:2]) or f"Group {cluster + 1}",
                terms=best,
                size=len(members),
                examples=closest,
                cohesion=float(similarity.mean()) if len(members) else 0.0,
            )
        )
    return descriptions


def _top_terms(row: np.ndarray, vocabulary: list[str], count: int, avoid: set[str]) -> list[str]:
    chosen: list[str] = []
    for index in np.argsort(-row):
        if row[index] <= 0 or len(chosen) >= count:
            break
        term = vocabulary[index]
        words = set(term.split())
        # Skip a term already said by the parent, or one that only repeats words of a better term.
        if (
            term in avoid
            or words & avoid
            or any(words <= set(other.split()) or set(other.split()) <= words for other in chosen)
        ):
            continue
        chosen.append(term)
    return chosen


def _distinct_examples(titles: Sequence[str], ranked: np.ndarray, count: int) -> list[int]:
    """The first `count` members in `ranked` order with different titles (copies of one listing say less)."""
    chosen: list[int] = []
    seen: set[str] = set()
    for row in ranked.tolist():
        key = titles[row].casefold().strip()
        if key not in seen:
            seen.add(key)
            chosen.append(row)
            if len(chosen) == count:
                break
    return chosen
