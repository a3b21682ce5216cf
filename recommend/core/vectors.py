"""Sentence vectors of texts and products: the one home of the text-encoder call.

Every capability embeds through `encode_texts` here (tests replace this one function with a
cheap fake). The encoder module imports torch, so it is imported on first use, not at import time.
"""

from collections.abc import Callable, Sequence

import numpy as np
from django.conf import settings

EncodeProgress = Callable[[int, int], None]  # (texts done, texts in all)


def encode_texts(texts: Sequence[str], progress: EncodeProgress | None = None) -> np.ndarray:
    """One L2-normalised float32 row per text, from the configured local sentence encoder."""
    from recommend.ml.text_encoder import get_text_encoder

    encoder = get_text_encoder(settings.TEXT_ENCODER_PATH or None, settings.TEXT_ENCODER_PRECISION)
    return encoder.encode(list(texts), batch_size=64, progress=progress)
