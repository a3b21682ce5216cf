"""Training loop for SASRec and the recommender wrapper that gives it the common fit/score interface.

Batches are padded only to their own longest window (windows are grouped by length), the loss
only touches real positions, and early stopping watches validation NDCG@10 (history excluded):
the test item is never looked at here. Training runs on the device the caller names (default the CPU; see
``recommend.ml.common.device``); the model is initialised on the CPU first and saved as CPU tensors.
"""

import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from recommend.ml.common.device import DeviceLike, module_device, torch_device
from recommend.ml.sequential.checkpoint import checkpoint_load
from recommend.ml.sequential.data import pad_right, training_windows
from recommend.ml.sequential.evaluation import hit_ndcg, rank_all
from recommend.ml.sequential.sasrec import SASRec, SASRecConfig


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = 200
    batch_size: int = 128
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    negatives: int = 0  # 0: full softmax over all items; N: sampled softmax with N shared negatives
    patience: int = 8  # evaluations without a better validation NDCG@10 before stopping
    evaluate_every: int = 1
    time_limit_seconds: float = 1500.0
    seed: int = 42
    threads: int = 2
    validation_users: int = 0  # early stopping on a fixed random subset of users (0: all), to save time


@dataclass
class TrainingReport:
    epochs: int = 0
    best_epoch: int = 0
    best_valid_ndcg_at_10: float = 0.0
    best_valid_hr_at_10: float = 0.0
    seconds: float = 0.0
    stopped_by: str = "epochs"
    curve: list[dict] = field(default_factory=list)


def length_grouped_batches(windows: list[list[int]], batch_size: int, rng: random.Random) -> list[list[list[int]]]:
    """Shuffled batches of similar-length windows, so little of each batch is padding."""
    order = list(windows)
    rng.shuffle(order)
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        group = sorted(order[start : start + chunk], key=len)
        batches += [group[i : i + batch_size] for i in range(0, len(group), batch_size)]
    rng.shuffle(batches)
    return batches


def validation_scores(model: SASRec, histories: Sequence[Sequence[int]], targets: np.ndarray) -> tuple[float, float]:
    recommender = SASRecRecommender(model.config)
    recommender.model = model
    result = rank_all(recommender.score, histories, targets, batch_size=1024)
    return hit_ndcg(result.ranks_excluded)


def train_sasrec(
    *,
    sequences: Sequence[Sequence[int]],
    model_config: SASRecConfig,
    training: TrainingConfig,
    valid_histories: Sequence[Sequence[int]],
    valid_targets: np.ndarray,
    item_vectors: np.ndarray | None = None,
    progress=None,
    device: DeviceLike = "cpu",
) -> tuple[SASRec, TrainingReport]:
    """Train on `sequences` on `device`, keep the epoch with the best validation NDCG@10 (history excluded)."""
    target = torch_device(device)
    torch.manual_seed(training.seed)
    torch.set_num_threads(training.threads)
    rng = random.Random(training.seed)
    model = SASRec(model_config)
    if item_vectors is not None:
        model.init_item_vectors(item_vectors)
    model.to(target)  # initialised on the CPU: the same starting weights on every device
    optimizer = torch.optim.Adam(model.parameters(), lr=training.learning_rate, weight_decay=training.weight_decay)
    windows = training_windows(sequences, model_config.max_length)
    if training.validation_users and training.validation_users < len(valid_histories):
        chosen = np.random.default_rng(training.seed).choice(
            len(valid_histories), training.validation_users, replace=False
        )
        valid_histories, valid_targets = [valid_histories[i] for i in chosen], np.asarray(valid_targets)[chosen]
    report, best_state, waited = TrainingReport(), None, 0
    started = time.monotonic()
    for epoch in range(1, training.epochs + 1):
        model.train()
        total = 0.0
        batches = length_grouped_batches(windows, training.batch_size, rng)
        for batch in batches:
            padded, _ = pad_right(batch, model_config.max_length + 1)
            loss = model.calculate_loss(padded.to(target), training.negatives)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
        report.epochs = epoch
        elapsed = time.monotonic() - started
        if epoch % training.evaluate_every == 0:
            model.eval()
            hr, ndcg = validation_scores(model, valid_histories, valid_targets)
            report.curve.append(
                {"epoch": epoch, "loss": total / len(batches), "valid_hr_at_10": hr, "valid_ndcg_at_10": ndcg}
            )
            if ndcg > report.best_valid_ndcg_at_10:
                report.best_epoch, report.best_valid_ndcg_at_10, report.best_valid_hr_at_10 = epoch, ndcg, hr
                best_state = {key: value.clone() for key, value in model.state_dict().items()}
                waited = 0
            else:
                waited += 1
        if progress:
            progress(
                min(epoch / training.epochs, 1.0), f"epoch {epoch}: valid NDCG@10 {report.best_valid_ndcg_at_10:.4f}"
            )
        if waited >= training.patience:
            report.stopped_by = "early stopping"
            break
        if elapsed > training.time_limit_seconds:
            report.stopped_by = "time limit"
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    report.seconds = time.monotonic() - started
    return model, report


class SASRecRecommender:
    """SASRec behind the same fit / score / save / load interface as the baselines."""

    def __init__(
        self, model_config: SASRecConfig, training: TrainingConfig | None = None, device: DeviceLike = "cpu"
    ) -> None:
        self.model_config = model_config
        self.training = training or TrainingConfig()
        self.device = torch_device(device)  # where `fit` trains; `score` runs wherever the model is
        self.model = SASRec(model_config)
        self.report = TrainingReport()

    def fit(
        self, sequences, *, valid_histories, valid_targets, item_vectors=None, progress=None
    ) -> "SASRecRecommender":
        self.model, self.report = train_sasrec(
            sequences=sequences,
            model_config=self.model_config,
            training=self.training,
            valid_histories=valid_histories,
            valid_targets=valid_targets,
            item_vectors=item_vectors,
            progress=progress,
            device=self.device,
        )
        return self

    @torch.no_grad()
    def score(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        items, lengths = pad_right(histories, self.model_config.max_length)
        device = module_device(self.model)
        return self.model.full_sort_predict(items.to(device), lengths.to(device)).cpu().numpy()

    def save(self, folder: Path) -> None:
        torch.save(
            {**self.model.state(), "training": asdict(self.training), "report": asdict(self.report)},
            folder / "sasrec.pt",
        )

    @classmethod
    def load(cls, folder: Path, device: DeviceLike = "cpu") -> "SASRecRecommender":
        state = checkpoint_load(folder / "sasrec.pt")
        recommender = cls(SASRecConfig(**state["config"]), TrainingConfig(**state["training"]), device)
        recommender.model = SASRec.from_state(state).to(recommender.device)
        recommender.report = TrainingReport(**state["report"])
        return recommender
