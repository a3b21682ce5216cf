"""Choosing how the two experts are mixed, and the temperature that calibrates confidences.

Both are fitted on the validation slice of the training data, never on test data.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from recommend.ml.classification.config import ClassifierConfig
from recommend.ml.classification.metrics import evaluate, validation_score
from recommend.ml.classification.model import TrainedClassifier

Paths = list[tuple[str, ...]]

TEMPERATURES = tuple(float(t) for t in np.geomspace(0.25, 64.0, 41))


@torch.inference_mode()
def fit_temperature(model: TrainedClassifier, texts: list[str], paths: list[tuple[str, ...]]) -> float:
    """The softmax temperature of the path scores with the lowest log-loss on validation data.

    The mixed experts' scores are sharp (SVM margins times a large scale), so their raw softmax
    is overconfident; one scalar fitted on held-out products (temperature scaling) fixes the
    confidences without changing which path ranks first.
    """
    index = model.labels._path_index
    known = [i for i, p in enumerate(paths) if p in index]
    if len(known) < 20:
        return 1.0
    texts = [texts[i] for i in known]
    truth = torch.as_tensor([index[paths[i]] for i in known], device=model.device)
    scores = torch.empty(len(texts), len(model.labels.paths), device=model.device)
    for idx, batch in model._batches(texts, 512):
        deep, wide, _ = model._forward(batch)
        scores[idx] = model._path_scores(deep, wide, model.tau, model.wide_scale, model.deep_weight)
    losses = [float(nn.functional.cross_entropy(scores / t, truth)) for t in TEMPERATURES]
    return TEMPERATURES[int(np.argmin(losses))]


def choose_mix(
    model: TrainedClassifier, texts: list[str], paths: Paths, config: ClassifierConfig
) -> tuple[float, float, float]:
    """Pick (tau, wide_scale, deep_weight) from the config's grids on validation data only.

    The validation slice holds only paths seen >= 3 times, so it under-represents the
    rare classes that dominate macro-F1, where the wide (SVM) expert is the stronger one;
    the default grids are therefore narrow (chosen on a development split carved from
    training data) and the slice mostly decides the logit adjustment.
    """
    has_wide = bool(model.net.wide_parameters())
    scales = config.wide_scale_grid if has_wide and config.wide_scale_grid else (0.0,)
    deep_weights = (config.deep_weight_grid or (1.0,)) if has_wide else (1.0,)
    taus = config.logit_adjust_grid or (0.0,)
    if not texts:
        return 0.0, scales[0], deep_weights[0]
    deep, wide = model.level_logits(texts)
    depth = model.labels.depth
    scored = []
    for t in taus:
        for c in scales:
            for r in deep_weights:
                metrics = evaluate(model.decode(deep, wide, t, c, r), paths, depth)
                # Ties go to the smallest adjustment, then to the first grid entries.
                scored.append((validation_score(metrics, depth), -t, -scales.index(c), -deep_weights.index(r), t, c, r))
    best = max(scored)
    return best[4], best[5], best[6]
