"""Training loop of the hierarchical classifier (`fit`): data split, both experts, mix and calibration.

Kept apart from the inference code so that loading a saved model does not pull in any of the
optimisation machinery's knobs. Determinism: numpy and torch are seeded from ``config.seed``,
batches come from a seeded numpy generator and the CPU kernels used here are deterministic, so
two runs with the same data, config and thread count give identical weights. ``device`` (default the CPU)
moves the network and each batch to a GPU when asked; the network is initialised on the CPU first, so both
start from the same weights (CUDA kernels are not bitwise deterministic, so GPU runs can differ slightly).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from recommend.ml.classification.calibration import choose_mix, fit_temperature
from recommend.ml.classification.config import ClassifierConfig
from recommend.ml.classification.hierarchy import HierarchyLabels
from recommend.ml.classification.metrics import evaluate, validation_score
from recommend.ml.classification.model import TrainedClassifier, make_net
from recommend.ml.classification.tokens import TokenEncoder
from recommend.ml.classification.wide import fit_wide, fit_wide_svm, is_wide, lr_schedule
from recommend.ml.common.device import DeviceLike, torch_device
from recommend.ml.common.progress import ProgressCallback, no_progress

Paths = list[tuple[str, ...]]
Validation = tuple[list[str], Paths]


def _split_validation(paths: Paths, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Hold out ``fraction`` of the data, drawn only from paths seen >= 3 times.

    Rare paths stay entirely in training: a class whose only example sits in
    the validation slice could never be learned, and macro-F1 is dominated by
    exactly those rare classes.
    """
    n = len(paths)
    if fraction <= 0 or n < 20:
        return np.arange(n), np.arange(0)
    counts: dict[tuple[str, ...], int] = {}
    for p in paths:
        counts[p] = counts.get(p, 0) + 1
    eligible = np.array([i for i, p in enumerate(paths) if counts[p] >= 3], dtype=np.int64)
    take = min(round(n * fraction), len(eligible) // 3)
    val = np.sort(rng.permutation(eligible)[:take])
    train = np.setdiff1d(np.arange(n), val)
    return train, val


def _class_weights(counts: np.ndarray, power: float) -> torch.Tensor:
    """``count ** -power`` scaled so the average training example has weight 1."""
    safe = np.maximum(counts, 1).astype(np.float64)
    weights = safe**-power
    weights *= counts.sum() / max((counts * weights).sum(), 1e-12)
    return torch.tensor(weights, dtype=torch.float32)


def fit(
    texts: list[str],
    paths: Paths,
    config: ClassifierConfig,
    progress: ProgressCallback | None = None,
    validation: Validation | None = None,
    device: DeviceLike = "cpu",
) -> TrainedClassifier:
    """Train both experts on (text, path) pairs, then choose their mix and calibrate on validation data."""
    if len(texts) != len(paths) or not texts:
        raise ValueError("texts and paths must be non-empty and of equal length")
    target = torch_device(device)
    report = progress or no_progress
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    rng = np.random.default_rng(config.seed)
    texts, paths, (val_texts, val_paths) = _train_and_validation(texts, paths, config, rng, validation)
    model, losses, targets = _untrained_model(texts, paths, config, target)
    net = model.net
    started = time.monotonic()
    wide_epochs = _fit_wide_expert(model, texts, targets, config, rng, (val_texts, val_paths), report)
    deep_state, deep_epochs = _fit_deep(model, texts, targets, losses, config, rng, (val_texts, val_paths), report)
    if deep_state is not None:
        net.load_state_dict(deep_state, strict=False)
    net.eval()
    model.tau, model.wide_scale, model.deep_weight = choose_mix(model, val_texts, val_paths, config)
    model.temperature = fit_temperature(model, val_texts, val_paths)
    if net.wide_parameters() and config.refit_wide and validation is None and val_texts and wide_epochs:
        _refit_wide_with_validation(model, texts, targets, (val_texts, val_paths), wide_epochs, rng, report)
    net.eval()
    with torch.no_grad():
        # Saved in half precision (see ``TrainedClassifier.save``): round now, so that the
        # model in memory predicts exactly what the saved one will.
        for table in net.wide_tables():
            table.weight.copy_(table.weight.half().float())
    report(
        1.0,
        f"done: best epochs deep {deep_epochs} wide {wide_epochs}, tau {model.tau}, "
        f"wide scale {model.wide_scale}, deep weight {model.deep_weight}, "
        f"temperature {model.temperature:.2f} [{time.monotonic() - started:.0f}s]",
    )
    return model


def _train_and_validation(
    texts: list[str], paths: Paths, config: ClassifierConfig, rng: np.random.Generator, validation: Validation | None
) -> tuple[list[str], Paths, Validation]:
    """(training texts, training paths, validation pair): the given validation data or a slice of training."""
    paths = [tuple(p) for p in paths]
    if validation is not None:
        return texts, paths, (list(validation[0]), [tuple(p) for p in validation[1]])
    train_idx, val_idx = _split_validation(paths, config.validation_fraction, rng)
    held_out = ([texts[i] for i in val_idx], [paths[i] for i in val_idx])
    return [texts[i] for i in train_idx], [paths[i] for i in train_idx], held_out


def _untrained_model(
    texts: list[str], paths: Paths, config: ClassifierConfig, device: torch.device
) -> tuple[TrainedClassifier, list[nn.Module], torch.Tensor]:
    """The model on `device` with its vocabulary and label space, one loss per level (on `device` too), and
    the per-level targets (on the CPU: the SVM solver reads them as numpy; batches are moved as they go)."""
    # Only trained paths are predictable; validation paths outside them just count as errors.
    labels = HierarchyLabels(paths)
    encoder = TokenEncoder.build(
        texts,
        min_count=config.min_word_count,
        buckets=config.buckets,
        ngram_min=config.ngram_min,
        ngram_max=config.ngram_max,
        max_len=config.max_len,
        wide_ngram_min=config.wide_ngram_min,
    )
    if config.wide_min_df > 0:
        encoder.fit_wide(texts, config.wide_min_df)
    net = make_net(config, encoder, labels).to(device)  # initialised on the CPU: the same weights anywhere
    counts = labels.class_counts(paths)
    log_priors = [torch.tensor(np.log((c + 1) / (c + 1).sum()), dtype=torch.float32) for c in counts]
    losses: list[nn.Module] = [
        nn.CrossEntropyLoss(
            weight=_class_weights(c, config.class_weight_power),
            label_smoothing=config.label_smoothing,
            ignore_index=-100,
        ).to(device)
        for c in counts
    ]
    targets = torch.as_tensor(labels.targets(paths))
    return TrainedClassifier(config, encoder, labels, net, log_priors, tau=0.0), losses, targets


def _fit_wide_expert(
    model: TrainedClassifier,
    texts: list[str],
    targets: torch.Tensor,
    config: ClassifierConfig,
    rng: np.random.Generator,
    validation: Validation,
    report: ProgressCallback,
) -> int:
    """Train the wide expert first and on its own; returns its epochs (0 without a wide path).

    It has its own loss, and on precomputed TF-IDF vectors an epoch takes seconds, not minutes.
    """
    if not model.net.wide_parameters():
        return 0
    features = model.encoder.encode_wide(texts)
    if config.wide_loss == "svm":
        started = time.monotonic()
        fit_wide_svm(model, features, targets, config, rng)
        report(0.0, f"wide svm fitted [{time.monotonic() - started:.0f}s]")
        return config.wide_epochs
    state, epochs = fit_wide(model, features, targets, config, config.wide_epochs, rng, validation, report)
    model.net.load_state_dict(state, strict=False)
    return epochs


def _refit_wide_with_validation(
    model: TrainedClassifier,
    texts: list[str],
    targets: torch.Tensor,
    validation: Validation,
    epochs: int,
    rng: np.random.Generator,
    report: ProgressCallback,
) -> None:
    """The mix is chosen; now let the (cheap) wide expert learn from the validation slice too,
    for the number of epochs that early stopping found best."""
    net, labels, config = model.net, model.labels, model.config
    val_texts, val_paths = validation
    known = [i for i, p in enumerate(val_paths) if p in labels._path_index]
    all_texts = texts + [val_texts[i] for i in known]
    all_targets = torch.cat([targets, torch.as_tensor(labels.targets([val_paths[i] for i in known]))])
    for table in net.wide_tables():
        nn.init.zeros_(table.weight)
    for bias in net.wide_bias:
        nn.init.zeros_(bias)
    if config.wide_loss == "svm":
        fit_wide_svm(model, model.encoder.encode_wide(all_texts), all_targets, config, rng)
    else:
        state, _ = fit_wide(model, model.encoder.encode_wide(all_texts), all_targets, config, epochs, rng, None, report)
        net.load_state_dict(state, strict=False)


def _fit_deep(
    model: TrainedClassifier,
    texts: list[str],
    targets: torch.Tensor,
    losses: list[nn.Module],
    config: ClassifierConfig,
    rng: np.random.Generator,
    validation: tuple[list[str], Paths],
    report: ProgressCallback,
) -> tuple[dict | None, int]:
    net, encoder, device = model.net, model.encoder, model.device
    steps_per_epoch = max(1, -(-len(texts) // config.batch_size))
    total_steps = steps_per_epoch * config.epochs
    optimizers = [
        torch.optim.AdamW(net.deep_dense_parameters(), lr=config.lr, weight_decay=1e-4),
        torch.optim.SparseAdam(net.sparse_parameters(), lr=config.sparse_lr),
    ]
    base_lrs = [config.lr, config.sparse_lr]
    val_texts, val_paths = validation
    best: tuple[float, dict | None, int] = (-np.inf, None, 0)
    step = 0
    started = time.monotonic()
    for epoch in range(config.epochs):
        net.train()
        order = rng.permutation(len(texts))
        epoch_loss = 0.0
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            lr_schedule(optimizers, base_lrs, step / total_steps)
            deep, _, _ = model._forward(encoder.encode([texts[i] for i in idx], wide=False), wide=False)
            batch_targets = targets[idx].to(device)
            loss = torch.zeros((), device=device)
            for k, fn in enumerate(losses):
                if (batch_targets[:, k] >= 0).any():  # all-ignored levels would give NaN
                    loss = loss + fn(deep[k], batch_targets[:, k])
            for opt in optimizers:
                opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.deep_dense_parameters(), 5.0)
            for opt in optimizers:
                opt.step()
            epoch_loss += float(loss.detach()) * len(idx)
            step += 1
        message = f"epoch {epoch + 1}/{config.epochs} loss {epoch_loss / len(texts):.4f}"
        if not val_texts:
            best = (0.0, None, epoch)
            report((epoch + 1) / config.epochs, f"{message} [{time.monotonic() - started:.0f}s]")
            continue
        deep_val, _ = model.level_logits(val_texts, wide=False)
        metrics = evaluate(model.decode(deep_val, None, 0.0, 0.0, 1.0), val_paths, model.labels.depth)
        score = validation_score(metrics, model.labels.depth)
        message += f" | deep val path_acc {metrics['path_accuracy']:.4f} score {score:.4f}"
        # ">=": on a tie the later (more trained) epoch wins.
        if score >= best[0] or config.keep_last_epoch:
            best = (score, {k: v.clone() for k, v in net.state_dict().items() if not is_wide(k)}, epoch)
        report((epoch + 1) / config.epochs, f"{message} [{time.monotonic() - started:.0f}s]")
        if epoch + 1 >= config.min_epochs and epoch - best[2] >= config.patience:
            report((epoch + 1) / config.epochs, "early stop")
            break
    return best[1], best[2] + 1
