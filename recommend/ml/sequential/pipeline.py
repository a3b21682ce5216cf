"""Fit SASRec on id sequences, measure it beside the baselines on one split, write one artifact file.

What the Django training job runs (and what serving loads back): external item ids in, metrics
and a single `.pt` file out, no Django involved.
"""

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recommend.ml.common.comparison import Comparison, compare
from recommend.ml.common.device import DeviceLike
from recommend.ml.common.metrics import hits_at_k
from recommend.ml.sequential.baselines import ItemKNN, Popularity
from recommend.ml.sequential.checkpoint import checkpoint_load
from recommend.ml.sequential.data import ItemVocabulary, item_popularity, leave_one_out
from recommend.ml.sequential.evaluation import RankingResult, hit_ndcg, rank_all
from recommend.ml.sequential.sasrec import SASRec, SASRecConfig
from recommend.ml.sequential.training import SASRecRecommender, TrainingConfig, TrainingReport


@dataclass
class SequentialArtifact:
    """What serving needs: the model, the id vocabulary and item popularity (for cold starts)."""

    recommender: SASRecRecommender
    vocabulary: ItemVocabulary
    popularity: np.ndarray

    def save(self, path: Path) -> None:
        torch.save(
            {
                "sasrec": self.recommender.model.state(),
                "training": self.recommender.training.__dict__,
                "item_ids": list(self.vocabulary.ids),
                "popularity": torch.as_tensor(np.asarray(self.popularity, dtype=np.float64)),
            },
            path,
        )

    @classmethod
    def load(cls, path: Path, device: DeviceLike = "cpu") -> "SequentialArtifact":
        """Read the artifact (CPU tensors, whichever device trained it) and put the model on `device`.

        Read with weights_only=True (recommend/ml/sequential/checkpoint.py): a file holding anything but
        tensors and plain values is a ValueError, never code that runs.
        """
        state = checkpoint_load(path)
        if not isinstance(state.get("sasrec"), dict) or "training" not in state or "item_ids" not in state:
            raise ValueError(f"{Path(path).name} is not a sequential recommender artifact (keys missing)")
        popularity = state["popularity"]
        popularity = popularity.numpy() if isinstance(popularity, torch.Tensor) else np.asarray(popularity)
        recommender = SASRecRecommender(
            SASRecConfig(**state["sasrec"]["config"]), TrainingConfig(**state["training"]), device
        )
        recommender.model = SASRec.from_state(state["sasrec"]).to(recommender.device)
        return cls(recommender, ItemVocabulary(ids=list(state["item_ids"])), popularity)


# The gate's baselines are the ones the shop can serve instead of the model: popularity. item-kNN is measured
# beside it (valid.itemknn.*, test.itemknn.*, in the version's metrics) but no serving path runs it, so a
# version that loses only to item-kNN still beats what shoppers would otherwise get.
BASELINE_NAMES = {"popularity": "popularity"}
MODEL_NAME = "SASRec"


def _measure(prefix: str, result: RankingResult) -> dict[str, float]:
    hr, ndcg = hit_ndcg(result.ranks_excluded)
    return {f"{prefix}.hr_at_10": round(hr, 4), f"{prefix}.ndcg_at_10": round(ndcg, 4)}


def fit_and_measure(
    *,
    sequences: Sequence[Sequence[Hashable]],
    model_kwargs: dict[str, Any],
    training_kwargs: dict[str, Any],
    artifact: Path,
    progress: Callable[[float, str], None] | None = None,
    measure_users: int | None = None,
    device: DeviceLike = "cpu",
) -> tuple[dict[str, Any], Comparison]:
    """Train on the leave-one-out training part; metrics on validation and test items (history excluded).

    Returns (metrics, comparison): the comparison is SASRec against popularity and item-kNN, hit@10 per visitor
    on each visitor's latest event by time (the test item: neither training nor early stopping saw it; the
    history is everything before it), the strongest baseline paired case by case (`common.comparison`).
    `measure_users` measures the three models on a fixed random subset of users (a quicker demo run);
    `device` is where SASRec trains and scores ("auto": a GPU when there is one); the artifact holds CPU tensors.
    """
    report = progress or (lambda fraction, message: None)
    vocabulary = ItemVocabulary.from_sequences(sequences)
    encoded = [vocabulary.encode(sequence) for sequence in sequences]
    split = leave_one_out(encoded)
    training = TrainingConfig(**training_kwargs)
    recommender = SASRecRecommender(SASRecConfig(n_items=vocabulary.size, **model_kwargs), training, device)
    recommender.fit(
        split.train,
        valid_histories=split.valid_histories(),
        valid_targets=split.valid_target,
        progress=lambda fraction, message: report(0.9 * fraction, message),
    )
    report(0.9, "measuring beside popularity and item-kNN")
    models: dict[str, Popularity | ItemKNN | SASRecRecommender] = {
        "popularity": Popularity(vocabulary.size).fit(split.train),
        "itemknn": ItemKNN(vocabulary.size).fit(split.train),
        "sasrec": recommender,
    }
    metrics: dict[str, Any] = {"items": vocabulary.size, "users": len(split.train)}
    users = np.arange(len(split.train))
    if measure_users and measure_users < len(users):
        users = np.random.default_rng(0).choice(len(users), measure_users, replace=False)
        metrics["measured_users"] = measure_users
    valid_histories, test_histories = split.valid_histories(), split.test_histories()
    valid = ([valid_histories[i] for i in users], split.valid_target[users])
    test = ([test_histories[i] for i in users], split.test_target[users])
    latest_hits: dict[str, np.ndarray] = {}
    for name, model in models.items():
        metrics.update(_measure(f"valid.{name}", rank_all(model.score, *valid)))
        tested = rank_all(model.score, *test)
        metrics.update(_measure(f"test.{name}", tested))
        latest_hits[name] = hits_at_k(tested.ranks_excluded, 10)
    comparison = compare(
        metric="hit@10",
        model=MODEL_NAME,
        model_scores=latest_hits["sasrec"],
        baselines={label: latest_hits[name] for name, label in BASELINE_NAMES.items()},
        unit="visitors",
    )
    training_report: TrainingReport = recommender.report
    metrics.update(epochs=training_report.epochs, best_epoch=training_report.best_epoch, device=str(recommender.device))
    SequentialArtifact(recommender, vocabulary, item_popularity(encoded, vocabulary.size)).save(artifact)
    report(1.0, "saved")
    return metrics, comparison
