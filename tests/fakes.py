"""Cheap stand-ins for the sentence encoder in tests: a hashed bag of words, so texts sharing words are near."""

import zlib

import numpy as np


def bag_of_words(texts, progress=None, *, dimension=384):
    """One L2-normalised row per text: word counts hashed into `dimension` buckets (case and dots ignored)."""
    vectors = np.zeros((len(texts), dimension), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.casefold().replace(".", " ").split():
            vectors[row, zlib.crc32(word.encode()) % dimension] += 1.0
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    if progress:
        progress(len(texts), len(texts))
    return vectors
