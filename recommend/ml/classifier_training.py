"""Training loop for :mod:`recommend.ml.classifier`.

Kept apart from the inference code so that loading a saved model does not
pull in any of the optimisation machinery's knobs.  Determinism: numpy and
torch are seeded from ``config.seed``, batches come from a seeded numpy
generator and the CPU kernels used here are deterministic, so two runs with
the same data, config and thread count give identical weights.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from recommend.ml.classification_metrics import evaluate
from recommend.ml.classifier import (
    ClassifierConfig,
    ProgressFn,
    TrainedClassifier,
    _make_net,
)
from recommend.ml.classifier_hierarchy import HierarchyLabels
from recommend.ml.classifier_text import TextEncoder

Paths = list[tuple[str, ...]]


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


def _val_score(metrics: dict[str, float], depth: int) -> float:
    # Mean macro-F1 over levels plus path accuracy: rewards rare classes
    # without letting a degenerate model that trades away accuracy win.
    f1 = np.mean([metrics[f"level{k}.macro_f1"] for k in range(1, depth + 1)])
    return float(f1 + metrics["path_accuracy"])


def fit(
    texts: list[str],
    paths: Paths,
    config: ClassifierConfig,
    progress: ProgressFn | None = None,
    validation: tuple[list[str], Paths] | None = None,
) -> TrainedClassifier:
    if len(texts) != len(paths) or not texts:
        raise ValueError("texts and paths must be non-empty and of equal length")
    report = progress or (lambda _f, _m: None)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    rng = np.random.default_rng(config.seed)
    paths = [tuple(p) for p in paths]

    if validation is None:
        train_idx, val_idx = _split_validation(paths, config.validation_fraction, rng)
        val_texts = [texts[i] for i in val_idx]
        val_paths = [paths[i] for i in val_idx]
        texts = [texts[i] for i in train_idx]
        paths = [paths[i] for i in train_idx]
    else:
        val_texts, val_paths = list(validation[0]), [tuple(p) for p in validation[1]]

    # Only trained paths are predictable; validation paths outside them just count as errors.
    labels = HierarchyLabels(paths)
    encoder = TextEncoder.build(
        texts,
        min_count=config.min_word_count,
        buckets=config.buckets,
        ngram_min=config.ngram_min,
        ngram_max=config.ngram_max,
        max_len=config.max_len,
    )
    if config.wide_min_df > 0:
        encoder.fit_wide(texts, config.wide_min_df)
    net = _make_net(config, encoder, labels)
    counts = labels.class_counts(paths)
    log_priors = [torch.tensor(np.log((c + 1) / (c + 1).sum()), dtype=torch.float32) for c in counts]
    losses = [
        nn.CrossEntropyLoss(
            weight=_class_weights(c, config.class_weight_power),
            label_smoothing=config.label_smoothing,
            ignore_index=-100,
        )
        for c in counts
    ]
    targets = torch.as_tensor(labels.targets(paths))
    model = TrainedClassifier(config, encoder, labels, net, log_priors, tau=0.0)

    steps_per_epoch = max(1, -(-len(texts) // config.batch_size))
    total_steps = steps_per_epoch * config.epochs
    optimizers = [
        torch.optim.AdamW(net.dense_parameters(), lr=config.lr, weight_decay=1e-4),
        torch.optim.SparseAdam(net.sparse_parameters(), lr=config.sparse_lr),
    ]
    base_lrs = [config.lr, config.sparse_lr]
    if net.wide_parameters():
        optimizers.append(torch.optim.SparseAdam(net.wide_parameters(), lr=config.wide_lr))
        base_lrs.append(config.wide_lr)

    best: dict[str, tuple[float, dict | None, int]] = {"deep": (-np.inf, None, 0), "wide": (-np.inf, None, 0)}
    step = 0
    started = time.monotonic()
    for epoch in range(config.epochs):
        net.train()
        order = rng.permutation(len(texts))
        epoch_loss = 0.0
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            # Linear decay to 10%: stable late epochs without a separate schedule object.
            scale = 1.0 - 0.9 * step / total_steps
            for opt, lr in zip(optimizers, base_lrs, strict=True):
                for group in opt.param_groups:
                    group["lr"] = lr * scale
            deep, wide, _ = model._forward(encoder.encode([texts[i] for i in idx]))
            batch_targets = targets[idx]
            loss = torch.zeros(())
            for k, fn in enumerate(losses):
                if (batch_targets[:, k] >= 0).any():  # all-ignored levels would give NaN
                    loss = loss + fn(deep[k], batch_targets[:, k])
                    if wide is not None:
                        loss = loss + fn(wide[k], batch_targets[:, k])
            for opt in optimizers:
                opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.dense_parameters(), 5.0)
            for opt in optimizers:
                opt.step()
            epoch_loss += float(loss.detach()) * len(idx)
            step += 1
        message = f"epoch {epoch + 1}/{config.epochs} loss {epoch_loss / len(texts):.4f}"
        if val_texts:
            deep_val, wide_val = model.level_logits(val_texts)
            # Each expert is early-stopped on its own: the wide one peaks within
            # an epoch or two, the deep one much later.
            for expert, weight in (("deep", 0.0), ("wide", 1.0))[: 2 if wide_val is not None else 1]:
                metrics = evaluate(model.decode(deep_val, wide_val, 0.0, weight), val_paths, labels.depth)
                score = _val_score(metrics, labels.depth)
                message += f" | {expert} val path_acc {metrics['path_accuracy']:.4f} score {score:.4f}"
                if score > best[expert][0]:
                    state = {k: v.clone() for k, v in net.state_dict().items() if _is_wide(k) == (expert == "wide")}
                    best[expert] = (score, state, epoch)
            if all(epoch - b[2] >= config.patience for b in best.values() if b[1] is not None):
                report((epoch + 1) / config.epochs, message + " (early stop)")
                break
        report((epoch + 1) / config.epochs, f"{message} [{time.monotonic() - started:.0f}s]")

    for _score, state, _epoch in best.values():
        if state is not None:
            net.load_state_dict(state, strict=False)
    net.eval()
    model.tau, model.wide_weight = _choose_mix(model, val_texts, val_paths, config)
    epochs = {name: b[2] + 1 for name, b in best.items() if b[1] is not None}
    report(1.0, f"done: best epochs {epochs}, tau {model.tau}, wide weight {model.wide_weight}")
    return model


def _is_wide(key: str) -> bool:
    return key.startswith("wide")


def _choose_mix(
    model: TrainedClassifier, texts: list[str], paths: Paths, config: ClassifierConfig
) -> tuple[float, float]:
    """Pick logit-adjustment strength and expert mix on validation data only."""
    has_wide = bool(model.net.wide_parameters())
    if not texts:
        return 0.0, 0.5 if has_wide else 0.0
    deep, wide = model.level_logits(texts)
    depth = model.labels.depth
    taus = config.logit_adjust_grid or (0.0,)
    weights = config.wide_weight_grid if has_wide and config.wide_weight_grid else (0.0,)
    scored = [
        (_val_score(evaluate(model.decode(deep, wide, t, w), paths, depth), depth), -t, -abs(w - 0.5), t, w)
        for t in taus
        for w in weights
    ]
    best = max(scored)
    return best[3], best[4]
