"""The hierarchical autoencoder's settings (recommend.ml.hierarchy.autoencoder), without torch: the Django
layer builds them on every start, and only a build with method "autoencoder" loads torch."""

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class AutoencoderConfig:
    code_sizes: Sequence[int] = (16, 32, 64)  # coarse -> fine, one per tree level
    hidden: int = 256
    pretrain_epochs: int = 8
    finetune_epochs: int = 4
    batch_size: int = 512
    learning_rate: float = 2e-3
    cluster_weight: float = 0.1
    consistency_weight: float = 0.05
    threads: int = 2
    seed: int = 0
    cluster_counts: Sequence[int] = field(default_factory=lambda: (8, 40, 150))
    device: str = "cpu"  # "auto", "cpu", "cuda", "cuda:N" (recommend.ml.common.device)
