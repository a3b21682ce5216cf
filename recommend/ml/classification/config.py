"""Settings of the hierarchical classifier and its prediction record (no torch import)."""

from __future__ import annotations

from dataclasses import dataclass

# Grid settings are tuples in memory and lists in saved files (weights_only loading knows no tuples).
GRID_FIELDS = ("logit_adjust_grid", "wide_scale_grid", "deep_weight_grid")


@dataclass
class ClassifierConfig:
    embedding_dim: int = 96
    hidden_dim: int = 128
    attention_dim: int = 64
    bag_dim: int = 128
    buckets: int = 2**18
    ngram_min: int = 3
    ngram_max: int = 5
    min_word_count: int = 2
    wide_min_df: int = 1  # 0 disables the wide (TF-IDF linear) path
    wide_ngram_min: int = 2  # char n-grams of the wide path start here (like char_wb 2-5)
    # "svm": one-vs-rest L2-loss linear SVM solved by dual coordinate descent (wide_epochs
    # passes); "hinge": the same loss by SparseAdam; "ce": softmax by SparseAdam.
    wide_loss: str = "svm"
    wide_c: float = 1.0  # SVM regularisation, as LinearSVC's C
    wide_lr: float = 0.1  # SparseAdam variants: rare features are updated once per epoch
    wide_epochs: int = 10
    wide_patience: int = 3
    wide_batch_size: int = 64
    refit_wide: bool = True  # after choosing the mix, refit the wide path on train + validation
    # Mix per level: wide_scale * wide scores + deep_weight * deep log-probs - tau * log prior.
    # Candidates are picked on the validation slice; see ``calibration.choose_mix``.
    wide_scale_grid: tuple[float, ...] = (30.0,)
    deep_weight_grid: tuple[float, ...] = (2.0,)
    max_len: int = 32
    epochs: int = 12
    patience: int = 3
    min_epochs: int = 4  # no early stop before this many epochs of the deep path
    keep_last_epoch: bool = False  # keep the deep path's last epoch, not its best on validation
    batch_size: int = 64
    lr: float = 3e-3
    sparse_lr: float = 1e-2
    dropout: float = 0.3
    label_smoothing: float = 0.1
    class_weight_power: float = 0.5
    logit_adjust_grid: tuple[float, ...] = (0.0, 0.1)
    validation_fraction: float = 0.1
    seed: int = 13
    num_threads: int | None = None


@dataclass
class Prediction:
    path: tuple[str, ...]
    confidence: float  # probability of this path among all known paths
    attention: list[tuple[str, float]]  # input words with the highest attention
