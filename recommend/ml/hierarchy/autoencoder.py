"""Hierarchical autoencoder: one code per tree level, pre-trained on reconstruction, fine-tuned to cluster.

The encoder is a chain ``x -> fine code -> middle code -> coarse code`` (each code a unit vector); every code
has its own decoder back to ``x`` so even the coarse code must keep what tells products apart. Pre-training
minimises the cosine reconstruction error of all levels. Fine-tuning then adds, per level, the DEC objective
(Xie et al., 2016): Student-t soft assignments of the codes to that level's centroids, pulled towards a
sharpened target distribution, so the codes form tight clusters; a consistency term asks each product's
coarse assignment to agree with the coarse assignment of its fine cluster (the tree must nest).
Training runs on ``AutoencoderConfig.device`` (default the CPU; "auto" is a GPU when there is one); batch
orders come from a CPU generator and the model is initialised on the CPU, so every device starts the same.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from recommend.ml.common.device import module_device, torch_device
from recommend.ml.hierarchy.autoencoder_config import AutoencoderConfig

Progress = Callable[[float, str], None]


class HierarchicalAutoencoder(nn.Module):
    def __init__(self, input_size: int, config: AutoencoderConfig) -> None:
        super().__init__()
        coarse_to_fine = list(config.code_sizes)
        fine = coarse_to_fine[-1]
        self.encoder = nn.Sequential(nn.Linear(input_size, config.hidden), nn.GELU(), nn.Linear(config.hidden, fine))
        # Each coarser code is computed from the finer one: the coarse level summarises the fine level.
        self.coarsen = nn.ModuleList(
            nn.Linear(coarse_to_fine[i + 1], coarse_to_fine[i]) for i in range(len(coarse_to_fine) - 1)
        )
        self.decoders = nn.ModuleList(
            nn.Sequential(nn.Linear(size, config.hidden), nn.GELU(), nn.Linear(config.hidden, input_size))
            for size in coarse_to_fine
        )

    def codes(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        """Unit-norm codes, coarse -> fine."""
        current = self.encoder(inputs)
        codes = [F.normalize(current, dim=1)]
        for layer in reversed(self.coarsen):
            current = layer(F.gelu(current))
            codes.insert(0, F.normalize(current, dim=1))
        return codes

    def reconstruction_loss(self, inputs: torch.Tensor, codes: list[torch.Tensor]) -> torch.Tensor:
        target = F.normalize(inputs, dim=1)
        losses = [
            1 - F.cosine_similarity(decoder(code), target).mean()
            for decoder, code in zip(self.decoders, codes, strict=False)
        ]
        return torch.stack(losses).mean()


def soft_assignments(codes: torch.Tensor, centroids: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """DEC's Student-t kernel between codes and centroids, rows summing to one."""
    distances = torch.cdist(codes, centroids).pow(2)
    kernel = (1 + distances / alpha).pow(-(alpha + 1) / 2)
    return kernel / kernel.sum(dim=1, keepdim=True)


def target_distribution(assignments: torch.Tensor) -> torch.Tensor:
    """Sharpened targets: square the assignments and divide by cluster frequency (keeps big clusters honest)."""
    weight = assignments.pow(2) / assignments.sum(dim=0)
    return (weight.t() / weight.sum(dim=1)).t()


def _batches(count: int, size: int, generator: torch.Generator) -> list[torch.Tensor]:
    order = torch.randperm(count, generator=generator)
    return [order[start : start + size] for start in range(0, count, size)]


def _kmeans_centroids(codes: np.ndarray, count: int, seed: int) -> np.ndarray:
    from recommend.ml.hierarchy.tree import kmeans

    _, centroids = kmeans(codes, min(count, len(codes)), seed=seed)
    return centroids


def train_autoencoder(
    vectors: np.ndarray, config: AutoencoderConfig, progress: Progress | None = None
) -> HierarchicalAutoencoder:
    """Pre-train on reconstruction, then fine-tune with per-level clustering; returns the model in eval mode
    (on ``config.device``; ``encode_levels`` gives numpy codes wherever it lives)."""
    device = torch_device(config.device)
    torch.manual_seed(config.seed)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        inputs = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32)).to(device)
        model = HierarchicalAutoencoder(inputs.shape[1], config).to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=1e-4)
        generator = torch.Generator().manual_seed(config.seed)
        total = config.pretrain_epochs + config.finetune_epochs
        for epoch in range(config.pretrain_epochs):
            model.train()
            for batch in _batches(len(inputs), config.batch_size, generator):
                batch = batch.to(device)
                loss = model.reconstruction_loss(inputs[batch], model.codes(inputs[batch]))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            if progress:
                progress((epoch + 1) / total, f"autoencoder pre-training {epoch + 1}/{config.pretrain_epochs}")
        if config.finetune_epochs:
            _finetune(model, inputs, optimizer, generator, config, progress, total)
        model.eval()
        return model
    finally:
        torch.set_num_threads(previous_threads)


def _finetune(
    model: HierarchicalAutoencoder,
    inputs: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    config: AutoencoderConfig,
    progress: Progress | None,
    total: int,
) -> None:
    levels = len(config.code_sizes)
    counts = list(config.cluster_counts)[-levels:]
    initial = encode_levels(model, inputs.cpu().numpy())
    centroids = nn.ParameterList(
        nn.Parameter(torch.from_numpy(_kmeans_centroids(codes, count, config.seed)).to(inputs.device))
        for codes, count in zip(initial, counts, strict=False)
    )
    optimizer.add_param_group({"params": list(centroids.parameters())})
    for epoch in range(config.finetune_epochs):
        # Targets are refreshed once per epoch (as in DEC) so the model chases a fixed goal within an epoch.
        with torch.no_grad():
            codes_all = model.codes(inputs)
            targets = [
                target_distribution(soft_assignments(c, mu)) for c, mu in zip(codes_all, centroids, strict=False)
            ]
        model.train()
        for batch in _batches(len(inputs), config.batch_size, generator):
            batch = batch.to(inputs.device)
            codes = model.codes(inputs[batch])
            loss = model.reconstruction_loss(inputs[batch], codes)
            assignments = [soft_assignments(c, mu) for c, mu in zip(codes, centroids, strict=False)]
            for q, p in zip(assignments, targets, strict=False):
                loss = loss + config.cluster_weight * F.kl_div(q.clamp_min(1e-9).log(), p[batch], reduction="batchmean")
            loss = loss + config.consistency_weight * _consistency(assignments)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if progress:
            step = config.pretrain_epochs + epoch + 1
            progress(step / total, f"autoencoder fine-tuning {epoch + 1}/{config.finetune_epochs}")


def _consistency(assignments: list[torch.Tensor]) -> torch.Tensor:
    """Products sharing a fine cluster should share a coarse cluster: match each coarse row to its fine mates."""
    loss = torch.zeros((), device=assignments[0].device)
    for coarse, fine in itertools.pairwise(assignments):
        # Expected coarse distribution of each fine cluster, weighted by how much each product belongs to it.
        per_fine = fine.t() @ coarse / fine.sum(dim=0).clamp_min(1e-9)[:, None]
        expected = fine @ per_fine
        loss = loss + F.kl_div(coarse.clamp_min(1e-9).log(), expected.detach(), reduction="batchmean")
    return loss


def encode_levels(model: HierarchicalAutoencoder, vectors: np.ndarray, batch_size: int = 4096) -> list[np.ndarray]:
    """Codes of `vectors` for every level (coarse -> fine), float32 unit rows."""
    outputs: list[list[np.ndarray]] = [[] for _ in model.decoders]
    device = module_device(model)
    with torch.inference_mode():
        tensor = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
        for start in range(0, len(tensor), batch_size):
            for level, code in enumerate(model.codes(tensor[start : start + batch_size].to(device))):
                outputs[level].append(code.cpu().numpy())
    return [np.vstack(parts) for parts in outputs]
