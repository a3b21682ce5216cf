"""TF-IDF + LinearSVC baseline for category-path classification.

One shared TF-IDF representation (word 1-2 grams + char 2-5 grams within word
boundaries) and one independent LinearSVC per taxonomy level.  The levels are
*not* tied together, so the combined path can be one that does not exist in
the tree; that is exactly what the hierarchical model is compared against.
"""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

_SEP = "\x1f"


class TfidfSvmBaseline:
    def __init__(self, depth: int, c: float = 1.0, seed: int = 13) -> None:
        self.depth = depth
        self.c = c
        self.seed = seed
        self.vectorizer = FeatureUnion(
            [
                ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
                (
                    "char",
                    TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
                ),
            ]
        )
        self.models: list[LinearSVC] = []

    @staticmethod
    def level_label(path: Sequence[str], level: int) -> str:
        """Prefix label of ``path`` at 1-based ``level`` (matches classification_metrics)."""
        parts = list(path[:level])
        if len(parts) < level:
            parts.append("<end>")
        return _SEP.join(parts)

    def fit(self, texts: list[str], paths: Sequence[Sequence[str]]) -> TfidfSvmBaseline:
        features = self.vectorizer.fit_transform(texts)
        self.models = []
        for level in range(1, self.depth + 1):
            y = [self.level_label(p, level) for p in paths]
            model = LinearSVC(C=self.c, random_state=self.seed)
            self.models.append(model.fit(features, y))
        return self

    def predict_levels(self, texts: list[str]) -> list[list[str]]:
        """Per level (outer list), the prefix label predicted for each text."""
        features = self.vectorizer.transform(texts)
        return [list(model.predict(features)) for model in self.models]

    def predict_paths(self, texts: list[str]) -> list[tuple[str, ...]]:
        """Combine each level's own prediction into a path (may be invalid)."""
        per_level = self.predict_levels(texts)
        paths = []
        for i in range(len(texts)):
            names = (labels[i].split(_SEP)[-1] for labels in per_level)
            paths.append(tuple(n for n in names if n != "<end>"))
        return paths
