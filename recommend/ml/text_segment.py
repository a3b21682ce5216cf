"""Word segmentation for lexical indexes: CJK runs split into words with jieba, other text untouched.

Full-text tokenizers split on spaces and punctuation, so "苹果手机12" is one token and a search for
"手机" (phone) misses it. ``segment_cjk`` inserts spaces between jieba's words inside CJK runs
only, so Latin text, model numbers and the index's own tokenizer are unaffected.
"""

from __future__ import annotations

import functools
import re

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


@functools.cache
def _jieba():  # type: ignore[no-untyped-def,unused-ignore]
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)  # its dictionary-loading notice is noise in logs
    return jieba


def has_cjk(text: str | None) -> bool:
    return bool(text) and bool(_CJK_RUN.search(text or ""))


def segment_cjk(text: str | None) -> str:
    """``"苹果手机12 Apple"`` -> ``"苹果 手机 12 Apple"``; text without CJK characters is returned as is."""
    if not text or not has_cjk(text):
        return text or ""
    jieba = _jieba()
    spaced = _CJK_RUN.sub(lambda m: " " + " ".join(w for w in jieba.cut(m.group(0)) if w.strip()) + " ", text)
    return re.sub(r"\s+", " ", spaced).strip()
