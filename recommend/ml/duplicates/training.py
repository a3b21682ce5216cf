"""Training a matcher from labelled pairs: split, fit, threshold on validation, metrics on test.

The result is a :class:`Matcher`: the feature scorer (fast first stage) and optionally a
cross-encoder fine-tuned on the same train part (the strong second stage that gives the
final score). Splits keep every product (connected records) in one part, so the test
figures are on products the model never saw.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .calibration import precision_recall_f1, threshold_for_precision
from .features import Product, tokens
from .scorer import DuplicateScorer, Encoder

Pair = tuple[dict[str, Any], dict[str, Any], int]
Progress = Callable[[float, str], None]
METHODS = ("features", "cross_encoder")
MIN_PAIRS = 20
HIGH_PRECISION = 0.95


@dataclass
class Matcher:
    """What a ``duplicate_scorer`` model version holds: the first stage and an optional second one."""

    first: DuplicateScorer
    second: Any = None  # CrossEncoderMatcher (imported lazily: torch)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def threshold(self) -> float:
        return float(self.second.threshold if self.second is not None else self.first.threshold)

    def score_pairs(self, pairs: Sequence[tuple[Product, Product]], encoder: Encoder | None = None) -> np.ndarray:
        if self.second is not None:
            return self.second.score_pairs(pairs)
        return self.first.score_pairs(pairs, encoder=encoder)

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.first.save(directory / "scorer.json")
        if self.second is not None:
            self.second.save(directory / "cross_encoder")
        (directory / "matcher.json").write_text(json.dumps({"meta": self.meta}, indent=2))

    @classmethod
    def load(cls, directory: str | Path, device: str = "cpu") -> Matcher:
        """The saved matcher; a cross-encoder second stage is put on `device` ("auto": a GPU when there is one)."""
        directory = Path(directory)
        second = None
        if (directory / "cross_encoder").is_dir():
            from .cross_encoder import CrossEncoderMatcher

            second = CrossEncoderMatcher.load(directory / "cross_encoder", device=device)
        meta_file = directory / "matcher.json"
        meta = json.loads(meta_file.read_text())["meta"] if meta_file.exists() else {}
        return cls(DuplicateScorer.load(directory / "scorer.json"), second, meta)


def _record_key(record: Product) -> str:
    return " ".join(tokens(f"{record.get('brand') or ''} {record.get('title') or ''}"))


def split_pairs(
    pairs: Sequence[Pair], *, seed: int = 0, val: float = 0.2, test: float = 0.2
) -> tuple[list, list, list]:
    """Train / validation / test with connected records (same normalised title) in one part."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for a, b, _ in pairs:
        parent[find(_record_key(a))] = find(_record_key(b))
    components = sorted({find(_record_key(a)) for a, _, _ in pairs})
    random.Random(seed).shuffle(components)
    # Fill test, then validation, by pair count so small files still get both parts.
    sizes: dict[str, int] = {}
    for a, _, _ in pairs:
        root = find(_record_key(a))
        sizes[root] = sizes.get(root, 0) + 1
    part: dict[str, int] = {}
    filled = [0, 0]
    for root in components:
        if filled[0] < test * len(pairs):
            part[root], filled[0] = 2, filled[0] + sizes[root]
        elif filled[1] < val * len(pairs):
            part[root], filled[1] = 1, filled[1] + sizes[root]
        else:
            part[root] = 0
    out: tuple[list, list, list] = ([], [], [])
    for pair in pairs:
        out[part[find(_record_key(pair[0]))]].append(pair)
    return out


def evaluate(matcher: Matcher | DuplicateScorer, pairs: Sequence[Pair], encoder: Encoder | None) -> dict[str, float]:
    """Precision, recall and F1 of a matcher (or bare scorer) at its own threshold on ``pairs``."""
    scores = matcher.score_pairs([(a, b) for a, b, _ in pairs], encoder=encoder)
    return precision_recall_f1(np.array([y for _, _, y in pairs]), scores, matcher.threshold)


def train_matcher(
    pairs: Sequence[Pair],
    *,
    encoder: Encoder,
    method: str = "cross_encoder",
    seed: int = 0,
    epochs: int = 2,
    progress: Progress | None = None,
    device: str = "cpu",
) -> tuple[Matcher, dict[str, Any], list[Pair]]:
    """Fit on a train part, threshold on validation; returns (matcher, metrics, test part).

    `device` is where the cross-encoder trains ("auto": a GPU when there is one); the feature scorer is numpy.
    """
    if method not in METHODS:
        raise ValueError(f"method: must be one of {', '.join(METHODS)}")
    if len(pairs) < MIN_PAIRS:
        raise ValueError(f"pairs: at least {MIN_PAIRS} labelled pairs are needed, got {len(pairs)}")
    report = progress or (lambda fraction, message: None)
    train, val, test = split_pairs(pairs, seed=seed)
    for name, part in (("train", train), ("validation", val), ("test", test)):
        labels = {y for _, _, y in part}
        if labels != {0, 1}:
            raise ValueError(f"pairs: the {name} part needs both labels; add more duplicates and non-duplicates")
    report(0.05, f"{len(train)} train, {len(val)} validation, {len(test)} test pairs")
    started = time.monotonic()
    first = DuplicateScorer(meta={"embed": "record"})
    x = first.matrix([(a, b) for a, b, _ in train], encoder=encoder)
    xv = first.matrix([(a, b) for a, b, _ in val], encoder=encoder)
    first.fit(x, np.array([y for *_, y in train]), xv, np.array([y for *_, y in val]))
    # The admin's default list shows pairs above the cut with 95 % precision on validation.
    high = threshold_for_precision(np.array([y for *_, y in val]), first.predict(xv), HIGH_PRECISION)
    first.meta["high_precision_threshold"] = max(high, first.threshold)
    report(0.15, "feature scorer fitted")
    second = None
    if method == "cross_encoder":
        from .cross_encoder import CrossEncoderMatcher

        second = CrossEncoderMatcher(device=device).fit(
            [(a, b) for a, b, _ in train],
            [y for *_, y in train],
            val_pairs=[(a, b) for a, b, _ in val],
            val_labels=[y for *_, y in val],
            epochs=epochs,
            seed=seed,
            progress=lambda f, m: report(0.15 + 0.75 * f, f"cross-encoder: {m}"),
        )
    matcher = Matcher(first, second, {"method": method, "seed": seed})
    metrics: dict[str, object] = {f"test_{k}": v for k, v in evaluate(matcher, test, encoder).items()}
    metrics |= {
        "threshold": matcher.threshold,
        "method": method,
        "train_pairs": len(train),
        "val_pairs": len(val),
        "test_pairs": len(test),
        "train_seconds": time.monotonic() - started,
    }
    report(0.95, f"test F1 {metrics['test_f1']:.3f}")
    return matcher, metrics, test
