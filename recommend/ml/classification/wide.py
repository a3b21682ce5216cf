"""The wide expert of the classifier: a per-level linear model on TF-IDF features.

Solved as a one-vs-rest L2-loss linear SVM by dual coordinate descent (the default), or trained
by SparseAdam with a hinge or softmax loss. Features come as CSR triples (ids, weights, offsets).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from recommend.ml.classification.config import ClassifierConfig
from recommend.ml.classification.metrics import evaluate, validation_score
from recommend.ml.classification.model import TrainedClassifier
from recommend.ml.common.device import module_device
from recommend.ml.common.progress import ProgressCallback

Paths = list[tuple[str, ...]]
CsrFeatures = tuple[np.ndarray, np.ndarray, np.ndarray]


def lr_schedule(optimizers: list[torch.optim.Optimizer], base_lrs: list[float], fraction: float) -> None:
    # Linear decay to 10%: stable late epochs without a separate schedule object.
    for opt, lr in zip(optimizers, base_lrs, strict=True):
        for group in opt.param_groups:
            group["lr"] = lr * (1.0 - 0.9 * fraction)


def is_wide(key: str) -> bool:
    return key.startswith("wide")


def _wide_loss(scores: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    keep = target >= 0
    scores, target = scores[keep], target[keep]
    if kind == "ce":
        return nn.functional.cross_entropy(scores, target)
    # One-vs-rest squared hinge, the loss of sklearn's LinearSVC.
    sign = -torch.ones_like(scores)
    sign[torch.arange(len(target), device=scores.device), target] = 1.0
    return torch.clamp(1.0 - sign * scores, min=0.0).pow(2).sum(dim=1).mean()


def fit_wide(
    model: TrainedClassifier,
    features: CsrFeatures,
    targets: torch.Tensor,
    config: ClassifierConfig,
    epochs: int,
    rng: np.random.Generator,
    validation: tuple[list[str], Paths] | None,
    report: ProgressCallback,
) -> tuple[dict, int]:
    """Train the wide expert; with validation data, early-stop on it. Returns (state, epochs)."""
    net, device = model.net, model.device
    ids, weights, offsets = features
    n = len(offsets) - 1
    optimizer = torch.optim.SparseAdam(net.wide_parameters(), lr=config.wide_lr)
    bias_opt = torch.optim.Adam(list(net.wide_bias), lr=config.lr)
    steps = max(1, -(-n // config.wide_batch_size)) * max(1, config.wide_epochs)
    step = 0
    best: tuple[float, dict | None, int] = (-np.inf, None, 0)
    val_features = None
    if validation and validation[0]:
        val_features = model.encoder.encode_wide(validation[0])
    for epoch in range(epochs):
        net.train()
        order = rng.permutation(n)
        for start in range(0, n, config.wide_batch_size):
            idx = order[start : start + config.wide_batch_size]
            b_ids, b_weights, b_offsets = (t.to(device) for t in gather_csr(ids, weights, offsets, idx))
            lr_schedule([optimizer, bias_opt], [config.wide_lr, config.lr], step / steps)
            scores = net.wide_scores(b_ids, b_weights, b_offsets)
            batch_targets = targets[idx].to(device)
            loss = torch.zeros((), device=device)
            for k, level_scores in enumerate(scores):
                if (batch_targets[:, k] >= 0).any():
                    loss = loss + _wide_loss(level_scores, batch_targets[:, k], config.wide_loss)
            optimizer.zero_grad()
            bias_opt.zero_grad()
            loss.backward()
            optimizer.step()
            bias_opt.step()
            step += 1
        state = {k: v.clone() for k, v in net.state_dict().items() if is_wide(k)}
        if val_features is None:
            best = (0.0, state, epoch)
            continue
        scores = _wide_scores_eval(net, val_features)
        assert validation is not None  # val_features come from it
        metrics = evaluate(model.decode(scores, scores, 0.0, 1.0, 0.0), validation[1], model.labels.depth)
        score = validation_score(metrics, model.labels.depth)
        report(0.0, f"wide epoch {epoch + 1}/{epochs} val path_acc {metrics['path_accuracy']:.4f} score {score:.4f}")
        if score > best[0]:
            best = (score, state, epoch)
        if epoch - best[2] >= config.wide_patience:
            break
    assert best[1] is not None
    return best[1], best[2] + 1


def fit_wide_svm(
    model: TrainedClassifier,
    features: CsrFeatures,
    targets: torch.Tensor,
    config: ClassifierConfig,
    rng: np.random.Generator,
) -> None:
    """Solve the wide expert exactly as a one-vs-rest L2-loss linear SVM, per level.

    Dual coordinate descent (Hsieh et al. 2008, the solver behind liblinear and
    sklearn's LinearSVC) on ``0.5 |w|^2 + C sum max(0, 1 - y w.x)^2`` with the bias as
    an extra feature of value 1, vectorised over all classes of all levels at once:
    one pass over the examples per epoch, each a gather/scatter of the example's
    feature rows.  Unlike SGD it gets close to the SVM optimum in a few epochs, which
    is what rare classes (a couple of examples each) need.  Writes the solution into
    the wide tables of ``model.net``.
    """
    net = model.net
    w, starts = _solve_svm(
        features, targets, [t.weight.shape[1] for t in net.wide_tables()], model.encoder.wide_size, config, rng
    )
    size = model.encoder.wide_size
    with torch.no_grad():  # copy_ moves the CPU solution onto the network's device
        for k, (table, bias) in enumerate(zip(net.wide_tables(), net.wide_bias, strict=True)):
            table.weight.copy_(torch.from_numpy(w[:size, starts[k] : starts[k + 1]]))
            bias.copy_(torch.from_numpy(w[size, starts[k] : starts[k + 1]]))


def _solve_svm(
    features: CsrFeatures,
    targets: torch.Tensor,
    widths: list[int],
    size: int,
    config: ClassifierConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(weights with the bias as last row, start column of each level); see ``fit_wide_svm``."""
    ids, weights, offsets = features
    n = len(offsets) - 1
    starts = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
    total = int(starts[-1])
    tgt = targets.cpu().numpy()
    w = np.zeros((size + 1, total), dtype=np.float32)  # last row: the bias feature
    alpha = np.zeros((n, total), dtype=np.float32)
    # Per example: +1 for its class, -1 for the other classes of each level it has a target
    # for, 0 (no part in the problem) for the levels below the end of its path.
    signs = np.zeros((n, total), dtype=np.int8)
    for k in range(len(widths)):
        has = tgt[:, k] >= 0
        signs[has, starts[k] : starts[k + 1]] = -1
        signs[np.flatnonzero(has), starts[k] + tgt[has, k]] = 1
    diag = 1.0 / (2.0 * config.wide_c)
    one = np.ones(1, dtype=np.float32)
    for _epoch in range(config.wide_epochs):
        for i in rng.permutation(n):
            lo, hi = offsets[i], offsets[i + 1]
            idx = np.append(ids[lo:hi], size)
            val = np.concatenate([weights[lo:hi], one])
            sign = signs[i].astype(np.float32)
            rows = w[idx]
            old = alpha[i]
            grad = sign * (val @ rows) - 1.0 + diag * old
            new = np.maximum(old - grad / (float(val @ val) + diag), 0.0) * np.abs(sign)
            w[idx] = rows + np.outer(val, (new - old) * sign)
            alpha[i] = new
    return w, starts


@torch.inference_mode()
def _wide_scores_eval(net, features: CsrFeatures) -> list[torch.Tensor]:
    net.eval()
    ids, weights, offsets = features
    device = module_device(net)
    return net.wide_scores(*(torch.as_tensor(x).to(device) for x in (ids, weights, offsets[:-1])))


def gather_csr(
    ids: np.ndarray, weights: np.ndarray, offsets: np.ndarray, rows: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    starts, ends = offsets[rows], offsets[rows + 1]
    lengths = ends - starts
    new_offsets = np.zeros(len(rows), dtype=np.int64)
    np.cumsum(lengths[:-1], out=new_offsets[1:])
    flat = np.repeat(starts - new_offsets, lengths) + np.arange(int(lengths.sum()))
    return torch.as_tensor(ids[flat]), torch.as_tensor(weights[flat]), torch.as_tensor(new_offsets)
