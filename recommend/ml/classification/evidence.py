"""Which words speak for each suggested path: occlusion, one word left out at a time (pure torch).

The attention pooling weighs a product's words once, whatever class is asked about, so it shows the
same words beside every suggestion. Here each word is removed in turn and the drop in each suggested
path's log-odds is that word's evidence for that path: "laptop" speaks for Laptops, "sleeve"
for Laptop Bags, in the same title.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from recommend.ml.classification.model import TrainedClassifier

MAX_WORDS = 32  # the title and brand come first in the input text: the words staff read
WORD = re.compile(r"\w[\w'-]*", re.UNICODE)


def candidate_words(text: str, limit: int = MAX_WORDS) -> list[str]:
    """Distinct words of the text, in order of first appearance (case-folded)."""
    seen: dict[str, None] = {}
    for match in WORD.finditer(text):
        word = match.group().casefold()
        if len(word) > 1 and word not in seen:
            seen[word] = None
            if len(seen) == limit:
                break
    return list(seen)


def without_word(text: str, word: str) -> str:
    """The text with every occurrence of `word` (case-folded) left out."""
    return WORD.sub(lambda match: "" if match.group().casefold() == word else match.group(), text)


@torch.inference_mode()
def path_log_odds(model: TrainedClassifier, texts: list[str], paths: Sequence[tuple[str, ...]]) -> torch.Tensor:
    """log(P / (1 - P)) of each of `paths` (columns) for each text (rows), as the model serves them.

    Log-odds, not log-probabilities: a confident model puts log P at 0.0 for its top path whatever
    word is removed, while the odds still show how much each word carried.
    """
    deep, wide = model.level_logits(texts)
    scores = model._path_scores(deep, wide, model.tau, model.wide_scale, model.deep_weight)
    log_probs = torch.log_softmax(scores / model.temperature, dim=1)
    columns = [model.labels.path_id(path) for path in paths]
    odds = []
    for column in columns:
        others = log_probs.clone()
        others[:, column] = float("-inf")
        odds.append(log_probs[:, column] - torch.logsumexp(others, dim=1))
    return torch.stack(odds, dim=1).cpu()


def path_evidence(
    model: TrainedClassifier, text: str, paths: Sequence[tuple[str, ...]], top: int = 5
) -> list[list[tuple[str, float]]]:
    """For each path, up to `top` (word, weight) pairs whose removal lowers that path's odds most.

    Weights are the share of the total positive drop for that path (they sum to 1 when any word helps).
    """
    words = candidate_words(text)
    if not words or not paths:
        return [[] for _ in paths]
    variants = [text] + [without_word(text, word) for word in words]
    odds = path_log_odds(model, variants, paths)
    drops = (odds[0:1] - odds[1:]).clamp(min=0.0)  # words x paths: how much each word's removal costs
    evidence = []
    for column in range(len(paths)):
        column_drops = drops[:, column]
        total = float(column_drops.sum())
        order = torch.argsort(column_drops, descending=True)[:top].tolist()
        evidence.append(
            [(words[i], round(float(column_drops[i]) / total, 3)) for i in order if total > 0 and column_drops[i] > 0]
        )
    return evidence
