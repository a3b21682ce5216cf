"""Benchmark: blind category-tree construction on Fashion (44k) and Flipkart, scored against the true trees.

Usage (from the project root)::

    nice -n 10 .venv/bin/python benchmarks/taxonomy.py            # full run
    nice -n 10 .venv/bin/python benchmarks/taxonomy.py --limit 5000  # fewer products: taxonomy.limit5000.*
    nice -n 10 .venv/bin/python benchmarks/taxonomy.py --quick       # smoke run: 2,000 products, taxonomy.quick.*

The builder sees titles only; the true paths (Fashion masterCategory > subCategory > articleType, Flipkart
levels 1-3) choose and score. Each dataset is split in two by normalised title (benchmarks/taxonomy_protocol.py):
on the development half the true paths choose the method (``direct`` / ``autoencoder``), how the cluster counts
are set (the build's own silhouette choice, or the counts with the best development NMI) and the baseline's
count per level (flat k-means on TF-IDF); the report half's paths only score. Headline keys
``<dataset>.report.selected.*`` (the chosen build) beside ``<dataset>.report.baseline.*`` and the paired
per-product purity difference ``<dataset>.report.vs_baseline.*`` (recommend.ml.common.comparison); the product's
default build (direct, silhouette counts) is ``<dataset>.report.default.*``. For reference only, every method and
the baseline given the report half's TRUE counts: ``<dataset>.oracle_k.*`` (never a headline). Seed 0. Writes
benchmarks/results/taxonomy.{json,md,png} (one file per run; a partial run names its part).
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
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402
from taxonomy_attributes import attribute_scores  # noqa: E402
from taxonomy_data import Dataset, cached_vectors, load_fashion, load_flipkart  # noqa: E402
from taxonomy_protocol import (  # noqa: E402
    DEV_PERCENT,
    METHODS,
    choose_baseline_counts,
    choose_build,
    level_truths,
    split_indexes,
)

from recommend.ml.common.comparison import compare  # noqa: E402
from recommend.ml.hierarchy.builder import (  # noqa: E402
    DEFAULT_METHOD,
    BuildConfig,
    BuiltHierarchy,
    build_hierarchy,
    product_vectors,
)
from recommend.ml.hierarchy.evaluation import majority_correct, tfidf_kmeans  # noqa: E402

SEED = 0


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
        values[f"{prefix}level{level}.clusters"] = int(np.max(predicted)) + 1
    return values


def compare_purity(prefix: str, truths: list[np.ndarray], model: list[np.ndarray], base: list[np.ndarray]):
    """Per level, the paired per-product purity difference model - baseline with its 95 % interval."""
    values: dict[str, float] = {}
    for level, (truth, ours, theirs) in enumerate(zip(truths, model, base, strict=True), start=1):
        result = compare(
            metric="purity",
            model="built tree",
            model_scores=majority_correct(ours.tolist(), truth.tolist()),
            baselines={"k-means on TF-IDF": majority_correct(theirs.tolist(), truth.tolist())},
            unit="products",
        )
        values[f"{prefix}level{level}.purity_difference"] = round(result.difference, 4)
        values[f"{prefix}level{level}.ci_low"] = round(result.low, 4)
        values[f"{prefix}level{level}.ci_high"] = round(result.high, 4)
    return values


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


def subset(dataset: Dataset, indexes: list[int], name: str) -> Dataset:
    specs = [dataset.specifications[i] for i in indexes] if dataset.specifications else []
    return Dataset(name, [dataset.titles[i] for i in indexes], [dataset.paths[i] for i in indexes], specs)


def timed_build(dataset: Dataset, vectors: np.ndarray, config: BuildConfig) -> tuple[BuiltHierarchy, float]:
    started = time.perf_counter()
    built = build_hierarchy(dataset.titles, vectors, config=config)
    return built, round(time.perf_counter() - started, 1)


def run_dataset(dataset: Dataset, oracle: bool = True) -> tuple[dict[str, float | str], BuiltHierarchy, Dataset]:
    """Choices on the development half, figures on the report half (see benchmarks/taxonomy_protocol.py)."""
    name = dataset.name
    dev_indexes, report_indexes = split_indexes(dataset.titles)
    dev, report = subset(dataset, dev_indexes, name), subset(dataset, report_indexes, name)
    vectors = product_vectors(dataset.titles, CachedEncoder(name))
    dev_vectors, report_vectors = vectors[dev_indexes], vectors[report_indexes]
    dev_truths, truths = level_truths(dev.paths), level_truths(report.paths)
    values: dict[str, float | str] = {f"{name}.products": len(dataset.titles)}
    values[f"{name}.dev.products"], values[f"{name}.report.products"] = len(dev.titles), len(report.titles)
    for level, truth in enumerate(truths, start=1):
        values[f"{name}.report.true.level{level}.clusters"] = int(truth.max()) + 1
    # 1. Choices, on the development half only.
    started = time.perf_counter()
    choice, dev_scores = choose_build(dev.titles, dev_vectors, dev_truths, seed=SEED)
    values.update({f"{name}.dev.{key}": value for key, value in dev_scores.items()})
    values[f"{name}.selected.method"], values[f"{name}.selected.count_rule"] = choice.method, choice.count_rule
    values[f"{name}.selected.dev_mean_nmi"] = choice.dev_mean_nmi
    base_counts, base_scores = choose_baseline_counts(dev.titles, dev_truths, seed=SEED)
    values.update({f"{name}.dev.{key}": value for key, value in base_scores.items()})
    values[f"{name}.dev.choice_seconds"] = round(time.perf_counter() - started, 1)
    print(name, "chosen on the development half:", choice, "baseline counts", base_counts, flush=True)
    # 2. Figures, on the report half: the chosen build, the product's default build, the baseline.
    selected, values[f"{name}.report.selected.build_seconds"] = timed_build(
        report, report_vectors, BuildConfig(method=choice.method, counts=choice.counts)
    )
    values.update(score_levels(f"{name}.report.selected.", truths, selected.levels.labels))
    default = selected
    if (choice.method, choice.count_rule) != (DEFAULT_METHOD, "silhouette"):
        default, values[f"{name}.report.default.build_seconds"] = timed_build(
            report, report_vectors, BuildConfig(method=DEFAULT_METHOD)
        )
    else:
        values[f"{name}.report.default.build_seconds"] = values[f"{name}.report.selected.build_seconds"]
    values.update(score_levels(f"{name}.report.default.", truths, default.levels.labels))
    base = [tfidf_kmeans(report.titles, count, seed=SEED) for count in base_counts]
    values.update(score_levels(f"{name}.report.baseline.", truths, base))
    values.update(compare_purity(f"{name}.report.vs_baseline.", truths, selected.levels.labels, base))
    # 3. For reference only, never the headline: every method and the baseline given the report half's true counts.
    if oracle:
        counts = [int(truth.max()) + 1 for truth in truths]
        for method in METHODS:
            built, values[f"{name}.oracle_k.{method}.build_seconds"] = timed_build(
                report, report_vectors, BuildConfig(method=method, counts=counts)
            )
            values.update(score_levels(f"{name}.oracle_k.{method}.", truths, built.levels.labels))
        oracle_base = [tfidf_kmeans(report.titles, count, seed=SEED) for count in counts]
        values.update(score_levels(f"{name}.oracle_k.baseline.", truths, oracle_base))
    print(name, {k: v for k, v in values.items() if ".report." in k and k.endswith("nmi")}, flush=True)
    return values, default, report


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
    parser.add_argument("--skip-oracle", action="store_true", help="no reference run given the true counts")
    parser.add_argument("--quick", action="store_true", help="2,000 products per dataset (smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.limit = args.limit or 2000
    parts = [f"limit{args.limit}"] if args.limit and not args.quick else []
    parts += ["no_attributes"] if args.skip_attributes else []
    parts += ["no_oracle"] if args.skip_oracle else []
    part = "_".join(parts) or None
    import torch

    torch.set_num_threads(2)
    values: dict[str, float | str] = {"seed": SEED, "default_method": DEFAULT_METHOD}
    values["split"] = (
        f"by normalised title: {DEV_PERCENT} % development (every choice), the rest reported (scoring only)"
    )
    fashion, flipkart = load_fashion(), load_flipkart()
    if args.limit:
        fashion = Dataset("fashion", fashion.titles[: args.limit], fashion.paths[: args.limit], fashion.specifications)
        flipkart = Dataset("flipkart", flipkart.titles[: args.limit], flipkart.paths[: args.limit])
    speed = encoder_speed(fashion.titles)
    values["encoder.titles_per_second"] = round(speed, 1)
    fashion_values, fashion_tree, fashion_report = run_dataset(fashion, oracle=not args.skip_oracle)
    values.update(fashion_values)
    # A build from scratch of the report half = encoding its titles (+ the few distinct head words) + the default build.
    heads = len({t.split()[-1].lower() for t in fashion_report.titles if t.split()})
    values["fashion.report.default.full_build_seconds"] = round(
        (len(fashion_report.titles) + heads) / speed + float(values["fashion.report.default.build_seconds"]), 1
    )
    flipkart_values, _, _ = run_dataset(flipkart, oracle=not args.skip_oracle)
    values.update(flipkart_values)
    if not args.skip_attributes:  # attribute mining on the report half and its default tree
        values.update(attribute_scores(fashion_report, fashion_tree))
    title = "Taxonomy construction (blind; choices on a development half, scored on the other half)"
    path = write_results("taxonomy", values, title, part=part, quick=args.quick)
    draw_tree(fashion_tree, fashion_report.titles, path.with_suffix(".png"))
    print({k: v for k, v in values.items() if ".report." in k and k.endswith("nmi")})


if __name__ == "__main__":
    main()
