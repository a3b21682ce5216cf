"""Hierarchical coarse-to-fine product classifier (pure torch + numpy) and its TF-IDF baseline.

    from recommend.ml.classification import ClassifierConfig, TrainedClassifier, train_classifier

Modules: `config` (settings), `tokens` (TokenEncoder: words + hashed n-grams), `hierarchy` (label
space), `net` (torch network), `model` (TrainedClassifier: predict, save, load), `training` (fit),
`wide` (the TF-IDF linear expert), `calibration` (expert mix, temperature), `metrics`, `baseline`.
Importing this package imports torch.
"""

from recommend.ml.classification.config import ClassifierConfig, Prediction
from recommend.ml.classification.hierarchy import HierarchyLabels
from recommend.ml.classification.model import TrainedClassifier, train_classifier

__all__ = ["ClassifierConfig", "HierarchyLabels", "Prediction", "TrainedClassifier", "train_classifier"]
