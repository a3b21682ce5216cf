"""Product vectors for hierarchy construction: sentence vectors plus title word features.

The sentence encoder sees the whole title; the word part is TF-IDF over title words with the last words of the
title weighted up, because in shop titles ("Peter England Men Party Blue Jeans", "Fabric Double Sofa Bed") the
product type is the phrase at the end while brand, gender and colour come first. The TF-IDF part is reduced
with a truncated SVD so the combined vector stays dense and small enough for k-means on 50k products.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

_BRACKETS = re.compile(r"\([^)]*\)?|\[[^\]]*\]?")
_TOKEN = re.compile(r"[a-z][a-z0-9&'-]*[a-z0-9]|[a-z]")
_STOP = frozenset(
    ["a", "an", "and", "for", "of", "the", "with", "in", "on", "to", "by", "from", "at", "is", "set", "pack", "combo"]
)


def title_tokens(title: str) -> list[str]:
    """Lower-cased word tokens of a title without bracketed parts (sizes, model codes, cut-off suffixes)."""
    text = _BRACKETS.sub(" ", title.lower()).replace("'s", "")
    return [token for token in _TOKEN.findall(text) if token not in _STOP]


def head_phrase(title: str, words: int = 2) -> str:
    """The last `words` tokens of a title: where shop titles name the product type."""
    return " ".join(title_tokens(title)[-words:])


def _weighted_documents(titles: Sequence[str], head_weight: int) -> list[str]:
    # Repeating the head tokens is the simplest way to weight them inside one TF-IDF vocabulary.
    documents = []
    for title in titles:
        tokens = title_tokens(title)
        documents.append(" ".join(tokens + tokens[-2:] * head_weight))
    return documents


@dataclass
class FeatureConfig:
    svd_components: int = 128
    head_weight: int = 2
    text_weight: float = 1.0  # share of the sentence-vector block in the combined vector
    word_weight: float = 1.0  # share of the TF-IDF block
    min_document_frequency: int = 3
    seed: int = 0


@dataclass
class WordFeatures:
    """Fitted TF-IDF + SVD so later products (maintenance placement) get the same word block."""

    vectorizer: TfidfVectorizer
    svd: TruncatedSVD | None
    config: FeatureConfig

    def transform(self, titles: Sequence[str]) -> np.ndarray:
        matrix = self.vectorizer.transform(_weighted_documents(titles, self.config.head_weight))
        dense = self.svd.transform(matrix) if self.svd is not None else matrix.toarray()
        return _normalise(dense.astype(np.float32))


def fit_word_features(titles: Sequence[str], config: FeatureConfig) -> tuple[WordFeatures, np.ndarray]:
    """Fit the word block on `titles` and return it with their word vectors (unit rows)."""
    min_df = min(config.min_document_frequency, max(1, len(titles) // 50))
    vectorizer = TfidfVectorizer(
        min_df=min_df, sublinear_tf=True, token_pattern=r"\S+", ngram_range=(1, 2), dtype=np.float32
    )
    matrix = vectorizer.fit_transform(_weighted_documents(titles, config.head_weight))
    components = min(config.svd_components, matrix.shape[1] - 1, len(titles) - 1)
    svd = None
    if components >= 2:
        svd = TruncatedSVD(n_components=components, random_state=config.seed, algorithm="randomized", n_iter=4)
        dense = svd.fit_transform(matrix)
    else:
        dense = matrix.toarray()
    return WordFeatures(vectorizer, svd, config), _normalise(dense.astype(np.float32))


def combine(text_vectors: np.ndarray, word_vectors: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Concatenate the two unit-norm blocks with their weights and re-normalise (cosine = inner product)."""
    blocks = [_normalise(text_vectors) * config.text_weight, word_vectors * config.word_weight]
    return _normalise(np.hstack(blocks).astype(np.float32))


def tfidf_matrix(titles: Sequence[str]) -> sparse.csr_matrix:
    """Plain TF-IDF over title words (the baseline's features; no head weighting, no SVD)."""
    vectorizer = TfidfVectorizer(min_df=2, sublinear_tf=True, dtype=np.float32)
    return vectorizer.fit_transform(titles)


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-9)
