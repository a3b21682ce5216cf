"""Benchmark: blind category-tree construction on Fashion (44k) and Flipkart, scored against the true trees.

Usage (from the project root)::

    nice -n 10 .venv/bin/python benchmarks/taxonomy.py            # full run
    nice -n 10 .venv/bin/python benchmarks/taxonomy.py --limit 5000  # fewer products: taxonomy.limit5000.*
    nice -n 10 .venv/bin/python benchmarks/taxonomy.py --quick       # smoke run: 2,000 products, taxonomy.quick.*

The builder sees titles (and Flipkart's brand column) only; the true paths (Fashion masterCategory >
subCategory > articleType, Flipkart levels 1-3) are used for scoring. In the same run: both clustering methods
(``direct`` on the product vectors, ``autoencoder`` on the hierarchical autoencoder's codes) with the true
cluster count per level, the default method with the count it chooses itself (``.auto.``), and the baseline,
flat k-means on TF-IDF with the true count per level. No split: clustering is unsupervised and scored on every
product; seed 0. Writes benchmarks/results/taxonomy.{json,md,png} (one file per run; a partial run names its part).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import write_results  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402
from taxonomy_attributes import attribute_scores  # noqa: E402
from taxonomy_data import Dataset, cached_vectors, load_fashion, load_flipkart  # noqa: E402

from recommend.ml.hierarchy.builder import (  # noqa: E402
    DEFAULT_METHOD,
    BuildConfig,
    BuiltHierarchy,
    build_hierarchy,
    product_vectors,
)
from recommend.ml.hierarchy.features import tfidf_matrix  # noqa: E402

SEED = 0


def true_levels(dataset: Dataset) -> list[np.ndarray]:
    return [
        np.unique([" > ".join(path[: level + 1]) for path in dataset.paths], return_inverse=True)[1].astype(np.int64)
        for level in range(3)
    ]


def purity(truth: np.ndarray, labels: np.ndarray) -> float:
    table = np.zeros((labels.max() + 1, truth.max() + 1), dtype=np.int64)
    np.add.at(table, (labels, truth), 1)
    return float(table.max(axis=1).sum() / len(truth))


def score_levels(prefix: str, truths: list[np.ndarray], labels: list[np.ndarray]) -> dict[str, float]:
    values: dict[str, float] = {}
    for level, (truth, predicted) in enumerate(zip(truths, labels, strict=True), start=1):
        values[f"{prefix}level{level}.nmi"] = round(float(normalized_mutual_info_score(truth, predicted)), 4)
        values[f"{prefix}level{level}.ari"] = round(float(adjusted_rand_score(truth, predicted)), 4)
        values[f"{prefix}level{level}.purity"] = round(purity(truth, predicted), 4)
    return values


def baseline(dataset: Dataset, truths: list[np.ndarray]) -> dict[str, float]:
    """Flat k-means on TF-IDF title vectors, run once per level with that level's true cluster count."""
    matrix = tfidf_matrix(dataset.titles)
    labels = [
        KMeans(n_clusters=int(truth.max()) + 1, n_init=1, max_iter=100, random_state=SEED).fit_predict(matrix)
        for truth in truths
    ]
    return score_levels(f"{dataset.name}.baseline.", truths, labels)


class CachedEncoder:
    """Encoder for product_vectors that reads/writes var/bench_cache (keyed by dataset name and text hash)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, texts: list[str]) -> np.ndarray:
        return cached_vectors(self.name, list(texts))


def encoder_speed(titles: list[str], sample: int = 2000) -> float:
    """Titles per second of the sentence encoder on this machine now (for the full-build time)."""
    from recommend.ml.text_encoder import get_text_encoder

    encoder = get_text_encoder()
    encoder.encode(titles[:64])  # load and warm up outside the timing
    started = time.perf_counter()
    encoder.encode(titles[:sample], batch_size=128)
    return sample / (time.perf_counter() - started)


def run_dataset(dataset: Dataset, brands: list[str] | None) -> tuple[dict[str, float], BuiltHierarchy]:
    truths = true_levels(dataset)
    counts = [int(truth.max()) + 1 for truth in truths]
    values: dict[str, float] = {f"{dataset.name}.products": len(dataset.titles)}
    for level, count in enumerate(counts, start=1):
        values[f"{dataset.name}.true.level{level}.clusters"] = count
    vectors = product_vectors(dataset.titles, CachedEncoder(dataset.name))
    built: dict[str, BuiltHierarchy] = {}
    for method in ("direct", "autoencoder"):
        started = time.perf_counter()
        built[method] = build_hierarchy(
            dataset.titles, vectors, brands=brands, config=BuildConfig(method=method, counts=counts)
        )
        values[f"{dataset.name}.{method}.build_seconds"] = round(time.perf_counter() - started, 1)
        values.update(score_levels(f"{dataset.name}.{method}.", truths, built[method].levels.labels))
        print(dataset.name, method, {k: v for k, v in values.items() if f".{method}.level" in k}, flush=True)
    for key, value in list(values.items()):
        if key.startswith(f"{dataset.name}.{DEFAULT_METHOD}.level"):
            values[key.replace(f".{DEFAULT_METHOD}.", ".")] = value
    started = time.perf_counter()
    auto = build_hierarchy(dataset.titles, vectors, brands=brands, config=BuildConfig(method=DEFAULT_METHOD))
    values[f"{dataset.name}.auto.build_seconds"] = round(time.perf_counter() - started, 1)
    values.update(score_levels(f"{dataset.name}.auto.", truths, auto.levels.labels))
    for level, count in enumerate(auto.levels.chosen_counts, start=1):
        values[f"{dataset.name}.auto.level{level}.clusters"] = count
    values.update(baseline(dataset, truths))
    return values, auto


def draw_tree(hierarchy: BuiltHierarchy, titles: list[str], path: Path, top: int = 6) -> None:
    """Top two levels of the built tree: each level-1 node with its largest children, labels, sizes, examples."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels, nodes = hierarchy.levels, hierarchy.nodes
    roots = sorted(range(len(nodes[0])), key=lambda i: -nodes[0][i].size)[:top]
    figure, axis = plt.subplots(figsize=(16, 2.2 * len(roots)))
    axis.axis("off")
    y = 0.0
    for root in roots:
        node = nodes[0][root]
        axis.text(0.0, y, f"{node.label}\n{node.size} products", fontsize=11, weight="bold", va="top")
        children = [c for c in np.flatnonzero(levels.parents[1] == root)]
        children = sorted(children, key=lambda c: -nodes[1][c].size)[:4]
        for offset, child in enumerate(children):
            described = nodes[1][child]
            examples = "; ".join(titles[i][:38] for i in described.examples[:3])
            axis.text(0.22, y - offset * 0.45, f"{described.label} ({described.size})", fontsize=9.5, va="top")
            axis.text(0.45, y - offset * 0.45, examples, fontsize=8, color="#555555", va="top")
            axis.plot([0.17, 0.215], [y - 0.1, y - offset * 0.45 - 0.1], color="#999999", linewidth=0.8)
        y -= max(1, len(children)) * 0.45 + 0.35
    axis.set_ylim(y, 0.3)
    axis.set_xlim(0, 1.3)
    axis.set_title("Fashion: built tree, level 1 and its largest level-2 nodes (label, size, 3 example titles)")
    figure.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="products per dataset (0: all)")
    parser.add_argument("--skip-attributes", action="store_true")
    parser.add_argument("--quick", action="store_true", help="2,000 products per dataset (smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.limit = args.limit or 2000
    parts = [f"limit{args.limit}"] if args.limit and not args.quick else []
    parts += ["no_attributes"] if args.skip_attributes else []
    part = "_".join(parts) or None
    import torch

    torch.set_num_threads(2)
    values: dict[str, float | str] = {"seed": SEED, "split": "none (unsupervised, every product scored)"}
    values["default_method"] = DEFAULT_METHOD
    fashion, flipkart = load_fashion(), load_flipkart()
    if args.limit:
        fashion = Dataset("fashion", fashion.titles[: args.limit], fashion.paths[: args.limit], fashion.specifications)
        flipkart = Dataset("flipkart", flipkart.titles[: args.limit], flipkart.paths[: args.limit])
    speed = encoder_speed(fashion.titles)
    values["encoder.titles_per_second"] = round(speed, 1)
    fashion_values, fashion_tree = run_dataset(fashion, None)
    values.update(fashion_values)
    # A full build from scratch = encoding every title (+ the few distinct head words) + the auto build.
    heads = len({t.split()[-1].lower() for t in fashion.titles if t.split()})
    values["fashion.full_build_seconds"] = round(
        (len(fashion.titles) + heads) / speed + float(values["fashion.auto.build_seconds"]), 1
    )
    flipkart_values, _ = run_dataset(flipkart, None)
    values.update(flipkart_values)
    if not args.skip_attributes:
        values.update(attribute_scores(fashion, fashion_tree))
    title = "Taxonomy construction (blind; scored against the true trees)"
    path = write_results("taxonomy", values, title, part=part, quick=args.quick)
    draw_tree(fashion_tree, fashion.titles, path.with_suffix(".png"))
    print({k: v for k, v in values.items() if ".level" in k and k.endswith("nmi")})


if __name__ == "__main__":
    main()
