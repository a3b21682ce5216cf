"""Tokenisation and feature hashing for the product-title classifier (`TokenEncoder`).

Product titles are short, brand-heavy and full of words that never occur in
training (new brands, model numbers, typos).  A closed word vocabulary alone
would map most of them to ``<unk>``, so every word is also represented by
hashed character n-grams (fastText style).  Word bigrams are hashed into the
same table for the whole-title bag-of-n-grams path of the model.

Everything here is pure Python/numpy and deterministic: hashing uses CRC32,
not Python's salted ``hash()``, so saved models stay valid across processes.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np

PAD_ID = 0
UNK_ID = 1
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens; possessive ``'s`` is dropped (``women's`` -> ``women``)."""
    lowered = text.lower().replace("\u2019", "'").replace("'s ", " ")
    return _TOKEN_RE.findall(lowered)


def _stable_hash(value: str) -> int:
    return zlib.crc32(value.encode("utf-8"))


@dataclass
class EncodedBatch:
    """Padded numpy arrays for one batch, ready to become tensors."""

    word_ids: np.ndarray  # (B, L) int64, 0 = padding
    lengths: np.ndarray  # (B,) int64, >= 1
    token_ngrams: np.ndarray  # flat hashed n-gram ids for every (b, l) slot
    token_offsets: np.ndarray  # (B * L,) start of each slot's n-grams
    bag_ids: np.ndarray  # flat ids of the whole-title bag
    bag_offsets: np.ndarray  # (B,)
    wide_ids: np.ndarray  # flat ids into the exact (non-hashed) wide feature table
    wide_weights: np.ndarray  # idf weights, L2-normalised per title
    wide_offsets: np.ndarray  # (B,)
    tokens: list[list[str]]  # the (truncated) tokens, for attention display


class TokenEncoder:
    """Word vocabulary plus hashed char n-grams and word bigrams."""

    def __init__(
        self,
        vocab: list[str],
        buckets: int,
        ngram_min: int = 3,
        ngram_max: int = 5,
        max_len: int = 32,
        wide_ngram_min: int | None = None,
    ) -> None:
        self.vocab = list(vocab)  # index 0/1 are reserved for pad/unk
        self.word_to_id = {w: i for i, w in enumerate(self.vocab)}
        self.buckets = buckets
        self.ngram_min = ngram_min
        self.ngram_max = ngram_max
        self.max_len = max_len
        # The wide path may use shorter char n-grams than the GRU's subwords (char 2-grams help
        # on short codes and sizes, but would only slow down the per-token embedding bags).
        self.wide_ngram_min = ngram_min if wide_ngram_min is None else wide_ngram_min
        self._ngram_cache: dict[str, list[int]] = {}
        self._wide_cache: dict[str, list[int]] = {}
        self._wide_words: int | None = None
        # bucket -> wide feature index (-1: not a wide feature) and its idf.
        self.wide_map = np.full(1, -1, dtype=np.int64)
        self.wide_idf = np.zeros(0, dtype=np.float32)

    def fit_wide(self, texts: list[str], min_df: int) -> None:
        """Pick the wide features: hashed n-grams in >= ``min_df`` training titles.

        The wide path is a per-class linear model over these (like TF-IDF + a linear
        SVM), so it needs one weight per (feature, class).  Word-level features (words,
        word bigrams) and char n-grams get separate index ranges and are normalised
        separately, like the two halves of the baseline's TF-IDF feature union; features
        come first-word-then-char, so ``wide_map`` alone tells them apart.
        """
        df = np.zeros(2 * self.buckets, dtype=np.int64)
        for text in texts:
            df[np.unique(self._wide_keys(tokenize(text)[: self.max_len]))] += 1
        keep = np.flatnonzero(df >= min_df)
        self.wide_map = np.full(2 * self.buckets, -1, dtype=np.int64)
        self.wide_map[keep] = np.arange(len(keep))
        self.wide_idf = np.log((1 + len(texts)) / (1 + df[keep])).astype(np.float32) + 1.0
        self._wide_words = None

    def _wide_keys(self, toks: list[str]) -> np.ndarray:
        """Word-level feature keys in [0, buckets), char n-gram keys in [buckets, 2 * buckets)."""
        keys = [self.word_ngrams(tok)[0] for tok in toks]
        keys.extend(self._bucket(f"b:{a} {c}") for a, c in itertools.pairwise(toks))
        keys.extend(self.buckets + g for tok in toks for g in self._wide_char_ngrams(tok))
        return np.asarray(keys, dtype=np.int64)

    def _wide_char_ngrams(self, word: str) -> list[int]:
        cached = self._wide_cache.get(word)
        if cached is not None:
            return cached
        marked = f"<{word}>"
        if self.wide_ngram_min == self.ngram_min:
            ids = self.word_ngrams(word)[1:]
        else:
            ids = [
                self._bucket(marked[i : i + n])
                for n in range(self.wide_ngram_min, self.ngram_max + 1)
                for i in range(len(marked) - n + 1)
            ]
        if len(self._wide_cache) < 500_000:
            self._wide_cache[word] = ids
        return ids

    @property
    def _split_wide(self) -> bool:
        # Version-1 models have one normalised block of binary features over ``buckets`` keys.
        return len(self.wide_map) == 2 * self.buckets

    @property
    def wide_word_features(self) -> int:
        """How many wide features are word-level (they come first)."""
        words: int | None = getattr(self, "_wide_words", None)
        if words is None:
            words = self._wide_words = int((self.wide_map[: self.buckets] >= 0).sum()) if self._split_wide else 0
        return words

    @property
    def wide_size(self) -> int:
        return len(self.wide_idf)

    def _bag(self, toks: list[str]) -> list[int]:
        ids = [g for tok in toks for g in self.word_ngrams(tok)]
        ids.extend(self._bucket(f"b:{a} {c}") for a, c in itertools.pairwise(toks))
        return ids

    def wide_features(self, toks: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Wide feature ids and their TF-IDF weights.

        Sublinear tf (``1 + log tf``) times idf, each block (word-level, char n-grams)
        L2-normalised on its own, as in the baseline's feature union.
        """
        if not self._split_wide:  # version-1 model: binary tf, one block
            bag = np.asarray(self._bag(toks), dtype=np.int64)
            wide = np.unique(self.wide_map[bag % len(self.wide_map)])
            wide = wide[wide >= 0]
            binary = self.wide_idf[wide]
            norm = float(np.sqrt((binary**2).sum())) or 1.0
            return wide, (binary / norm).astype(np.float32)
        wide, tf = np.unique(self.wide_map[self._wide_keys(toks)], return_counts=True)
        keep = wide >= 0
        wide, tf = wide[keep], tf[keep]
        weights = (1.0 + np.log(tf)) * self.wide_idf[wide]
        words = wide < self.wide_word_features
        for block in (words, ~words):
            norm = float(np.sqrt((weights[block] ** 2).sum()))
            if norm > 0:
                weights[block] /= norm
        return wide, weights.astype(np.float32)

    def encode_wide(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR arrays (ids, weights, offsets with a final end entry) of the wide features of ``texts``."""
        ids: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        for b, text in enumerate(texts):
            i, w = self.wide_features(tokenize(text)[: self.max_len] or ["<empty>"])
            ids.append(i)
            weights.append(w)
            offsets[b + 1] = offsets[b] + len(i)
        cat = lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)  # noqa: E731
        return cat(ids, np.int64), cat(weights, np.float32), offsets

    @classmethod
    def build(cls, texts: list[str], min_count: int, buckets: int, **kwargs: int) -> TokenEncoder:
        counts = Counter(tok for text in texts for tok in tokenize(text))
        # Sorted so the vocabulary (and hence the model) is independent of dict order.
        words = sorted(w for w, c in counts.items() if c >= min_count)
        return cls(["<pad>", "<unk>", *words], buckets, **kwargs)

    def _bucket(self, key: str) -> int:
        # Shift by one so that id 0 never collides with a real feature.
        return 1 + _stable_hash(key) % (self.buckets - 1)

    def word_ngrams(self, word: str) -> list[int]:
        cached = self._ngram_cache.get(word)
        if cached is not None:
            return cached
        marked = f"<{word}>"
        ids = [self._bucket("w:" + word)]
        for n in range(self.ngram_min, self.ngram_max + 1):
            ids.extend(self._bucket(marked[i : i + n]) for i in range(len(marked) - n + 1))
        if len(self._ngram_cache) < 500_000:  # bound memory on huge catalogues
            self._ngram_cache[word] = ids
        return ids

    def encode(self, texts: list[str], wide: bool = True) -> EncodedBatch:
        token_lists = [tokenize(t)[: self.max_len] or ["<empty>"] for t in texts]
        lengths = np.array([len(toks) for toks in token_lists], dtype=np.int64)
        width = int(lengths.max()) if len(texts) else 1
        word_ids = np.zeros((len(texts), width), dtype=np.int64)
        token_ngrams: list[int] = []
        token_offsets = np.zeros(len(texts) * width, dtype=np.int64)
        bag_ids: list[int] = []
        bag_offsets = np.zeros(len(texts), dtype=np.int64)
        wide_ids: list[np.ndarray] = []
        wide_weights: list[np.ndarray] = []
        wide_offsets = np.zeros(len(texts), dtype=np.int64)
        wide_total = 0
        for b, toks in enumerate(token_lists):
            for pos, tok in enumerate(toks):
                word_ids[b, pos] = self.word_to_id.get(tok, UNK_ID)
            for pos in range(width):
                token_offsets[b * width + pos] = len(token_ngrams)
                if pos < len(toks):
                    token_ngrams.extend(self.word_ngrams(toks[pos]))
            bag = self._bag(toks)
            bag_offsets[b] = len(bag_ids)
            bag_ids.extend(bag)
            if wide and self.wide_size:
                # Binary tf * idf, L2-normalised: the classic TF-IDF document vector.
                ids, weights = self.wide_features(toks)
                wide_offsets[b] = wide_total
                wide_total += len(ids)
                wide_ids.append(ids)
                wide_weights.append(weights)
        return EncodedBatch(
            word_ids=word_ids,
            lengths=lengths,
            token_ngrams=np.asarray(token_ngrams, dtype=np.int64),
            token_offsets=token_offsets,
            bag_ids=np.asarray(bag_ids, dtype=np.int64),
            bag_offsets=bag_offsets,
            wide_ids=np.concatenate(wide_ids) if wide_ids else np.zeros(0, dtype=np.int64),
            wide_weights=(
                np.concatenate(wide_weights).astype(np.float32) if wide_weights else np.zeros(0, dtype=np.float32)
            ),
            wide_offsets=wide_offsets,
            tokens=token_lists,
        )
