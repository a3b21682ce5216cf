"""Which history items drove a recommendation, and a faithfulness check of that answer.

For SASRec, `history_weights` gives each history item a weight per recommended item by one of:
- "attention": the last block's attention from the newest position (the same for every target),
- "similarity": softmax over the cosine of the target's embedding with each history item's,
- "attention_similarity": their product, renormalised (attention says what the model read,
  similarity says which of those reads point at this particular item),
- "occlusion": the score drop of the target when that one item is removed (exact, n forward passes).
`deletion_gap` measures faithfulness: the mean score drop of the top recommendation when its
most-weighted history item is removed, minus the drop when a random other history item is.
"""

from collections.abc import Sequence

import numpy as np
import torch

from recommend.ml.common.device import module_device
from recommend.ml.sequential.data import pad_right
from recommend.ml.sequential.training import SASRecRecommender

METHODS = ("attention", "similarity", "attention_similarity", "occlusion")


def _normalise(weights: np.ndarray) -> np.ndarray:
    weights = np.clip(weights, 0.0, None)
    totals = weights.sum(axis=-1, keepdims=True)
    uniform = np.full_like(weights, 1.0 / max(weights.shape[-1], 1))
    return np.where(totals > 0, weights / np.where(totals > 0, totals, 1.0), uniform)


@torch.no_grad()
def attention_over_history(recommender: SASRecRecommender, histories: Sequence[Sequence[int]]) -> list[np.ndarray]:
    """Per history: the last block's attention of the newest position over the (kept) history items."""
    max_length = recommender.model_config.max_length
    items, lengths = pad_right(histories, max_length)
    device = module_device(recommender.model)
    _, attention = recommender.model.last_hidden(items.to(device), lengths.to(device), need_weights=True)
    attention = attention.cpu()
    return [attention[row, : int(lengths[row])].numpy() for row in range(len(histories))]


@torch.no_grad()
def similarity_to_history(recommender: SASRecRecommender, history: Sequence[int], targets: Sequence[int]) -> np.ndarray:
    table = torch.nn.functional.normalize(recommender.model.item_embedding.weight, dim=-1)
    kept = list(history)[-recommender.model_config.max_length :]
    cosine = table[list(targets)] @ table[kept].T
    return torch.softmax(cosine / 0.1, dim=-1).cpu().numpy()


@torch.no_grad()
def occlusion_drops(recommender: SASRecRecommender, history: Sequence[int], targets: Sequence[int]) -> np.ndarray:
    """(targets, history) score drop of each target when each history item alone is removed."""
    kept = list(history)[-recommender.model_config.max_length :]
    variants = [kept] + [kept[:position] + kept[position + 1 :] for position in range(len(kept))]
    scores = recommender.score(variants)[:, list(targets)]  # (1 + n, targets)
    return (scores[0][None, :] - scores[1:]).T


@torch.no_grad()
def scores_and_attention(recommender: SASRecRecommender, history: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """One forward pass for serving: every item's score and the newest position's attention over history."""
    kept = list(history)[-recommender.model_config.max_length :]
    items, lengths = pad_right([kept], recommender.model_config.max_length)
    device = module_device(recommender.model)
    last, attention = recommender.model.last_hidden(items.to(device), lengths.to(device), need_weights=True)
    scores = recommender.model.item_logits(last)[0].cpu().numpy()
    return scores, attention[0, : len(kept)].cpu().numpy()


def history_weights(
    recommender: SASRecRecommender,
    history: Sequence[int],
    targets: Sequence[int],
    method: str = "attention_similarity",
    attention: np.ndarray | None = None,
) -> np.ndarray:
    """(targets, kept history) weights summing to 1 per target; history is cut to the model's window.

    `attention` may come from `scores_and_attention` so serving does not run the model twice.
    """
    if method not in METHODS:
        raise ValueError(f"method: one of {', '.join(METHODS)}, not {method!r}")
    kept = list(history)[-recommender.model_config.max_length :]
    if not kept:
        return np.zeros((len(targets), 0))
    if method == "occlusion":
        return _normalise(occlusion_drops(recommender, kept, targets))
    if attention is None:
        attention = attention_over_history(recommender, [kept])[0]
    attention = np.tile(attention, (len(targets), 1))
    if method == "attention":
        return _normalise(attention)
    similarity = similarity_to_history(recommender, kept, targets)
    if method == "similarity":
        return similarity
    return _normalise(attention * similarity)


def deletion_gap(
    recommender: SASRecRecommender,
    histories: Sequence[Sequence[int]],
    *,
    method: str = "attention_similarity",
    users: int = 1000,
    seed: int = 42,
) -> dict[str, float]:
    """Mean drop of the top item's score: removing the top-weighted history item minus a random other one."""
    rng = np.random.default_rng(seed)
    max_length = recommender.model_config.max_length
    eligible = [list(history)[-max_length:] for history in histories if len(history) >= 2]
    chosen = [eligible[index] for index in rng.choice(len(eligible), size=min(users, len(eligible)), replace=False)]
    top_drops, random_drops, agree = [], [], 0
    for history in chosen:
        scores = recommender.score([history])[0]
        scores[0] = -np.inf
        scores[history] = -np.inf
        top = int(scores.argmax())
        weights = history_weights(recommender, history, [top], method)[0]
        most = int(weights.argmax())
        other = int(rng.choice([position for position in range(len(history)) if position != most]))
        without = [history[:most] + history[most + 1 :], history[:other] + history[other + 1 :]]
        after = recommender.score([history, *without])[:, top]
        top_drops.append(after[0] - after[1])
        random_drops.append(after[0] - after[2])
        agree += int(most == len(history) - 1)
    top_mean, random_mean = float(np.mean(top_drops)), float(np.mean(random_drops))
    return {
        "deletion_gap": top_mean - random_mean,
        "drop_top_weighted": top_mean,
        "drop_random": random_mean,
        "top_weighted_is_latest_share": agree / len(chosen),
        "users": float(len(chosen)),
    }
