"""Benchmark: hierarchical GRU classifier vs TF-IDF + LinearSVC per level.

Usage (from the project root)::

    .venv/bin/python benchmarks/classification.py            # full run
    .venv/bin/python benchmarks/classification.py --quick    # smoke run

Data comes from ``$SHOP_DATA_DIR`` (default ``../shared/data/raw`` relative to
the project root).  Each dataset is split twice, 80/20, and the model and the
baseline share each split: the headline split groups products by normalised
title (the product's own rule, ``recommend.ml.common.grouping``: no near-copy on
both sides; keys ``<dataset>.*``) and the old seeded random split stands beside
it (keys ``<dataset>.random.*``; on it many test titles appear word for word in
training, ``*.test_titles_in_train``). Per held-out product the full path is
right or wrong for both; ``recommend.ml.classification.comparison`` (the code the
product stores on each version) gives the paired difference with its 95 %
interval (``*.vs_tfidf.difference / ci_low / ci_high``). The model's early
stopping and logit-adjustment choice use a validation slice carved out of the
train part only.
Results go to ``benchmarks/results/classification.{json,md}`` (``--quick``: ``classification.quick.*``;
one dataset only: ``classification.<dataset>.*``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import write_results  # noqa: E402

from catalog.flipkart import flipkart_category_parts  # noqa: E402
from recommend.ml.classification import ClassifierConfig, train_classifier  # noqa: E402
from recommend.ml.classification.baseline import TfidfSvmBaseline  # noqa: E402
from recommend.ml.classification.comparison import compare_with_tfidf  # noqa: E402
from recommend.ml.classification.metrics import evaluate, level_scores  # noqa: E402
from recommend.ml.common.grouping import grouped_split, normalised_title  # noqa: E402

SPLIT_SEED = 2024
DEPTH = 3
Dataset = tuple[list[str], list[tuple[str, ...]]]


def data_dir() -> Path:
    return Path(os.environ.get("SHOP_DATA_DIR", ROOT.parent / "shared" / "data" / "raw"))


def load_fashion(base: Path) -> Dataset:
    texts, paths = [], []
    with open(base / "fashion_product_styles" / "styles_joined.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            title = (row.get("productDisplayName") or "").strip()
            path = tuple((row[c] or "").strip() for c in ("masterCategory", "subCategory", "articleType"))
            if title and all(path):
                texts.append(title)
                paths.append(path)
    return texts, paths


def load_flipkart(base: Path) -> Dataset:
    texts, paths = [], []
    with open(base / "flipkart_ecommerce_sample" / "flipkart_20k_joined.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            title = (row.get("product_name") or "").strip()
            parts = flipkart_category_parts(row["product_category_tree"])
            if title and len(parts) >= 4:
                texts.append(title)
                paths.append(tuple(parts[:DEPTH]))
    return texts, paths


def sample(data: Dataset, limit: int | None) -> Dataset:
    """The products a run uses, in a seeded order (``limit``: the first that many: the quick run)."""
    texts, paths = data
    order = np.random.default_rng(SPLIT_SEED).permutation(len(texts))
    if limit:
        order = order[:limit]
    return [texts[i] for i in order], [paths[i] for i in order]


def pick(data: Dataset, idx: list[int] | np.ndarray) -> Dataset:
    return [data[0][i] for i in idx], [data[1][i] for i in idx]


def random_split(data: Dataset) -> tuple[Dataset, Dataset]:
    """The old split: the first 80 % of the seeded order (near-copies fall on both sides)."""
    cut = round(len(data[0]) * 0.8)
    return pick(data, list(range(cut))), pick(data, list(range(cut, len(data[0]))))


def title_split(data: Dataset) -> tuple[Dataset, Dataset]:
    """The product's rule: a fifth of the normalised titles held out, every near-copy with its title."""
    train, test = grouped_split(data[0])
    return pick(data, train), pick(data, test)


def titles_in_train(train_x: list[str], test_x: list[str]) -> float:
    seen = {normalised_title(t) for t in train_x}
    return round(sum(normalised_title(t) in seen for t in test_x) / max(len(test_x), 1), 4)


def run_split(name: str, prefix: str, split: tuple[Dataset, Dataset], config: ClassifierConfig) -> dict:
    """Model and baseline trained on one split's train part and scored on its test part; keys ``prefix.*``."""
    (train_x, train_y), (test_x, test_y) = split
    print(f"[{prefix}] train {len(train_x)} test {len(test_x)}", flush=True)
    out: dict[str, float] = {f"{prefix}.train_size": len(train_x), f"{prefix}.test_size": len(test_x)}
    out[f"{prefix}.test_titles_in_train"] = titles_in_train(train_x, test_x)

    started = time.perf_counter()
    model = train_classifier(train_x, train_y, config, progress=lambda f, m: print(f"  [{prefix}] {m}", flush=True))
    out[f"{prefix}.train_seconds"] = round(time.perf_counter() - started, 1)
    out[f"{prefix}.model.tau"] = model.tau
    out[f"{prefix}.model.wide_scale"] = model.wide_scale
    out[f"{prefix}.model.deep_weight"] = model.deep_weight
    started = time.perf_counter()
    predictions = model.predict(test_x, top_k=3)
    out[f"{prefix}.predict_per_second"] = round(len(test_x) / (time.perf_counter() - started), 1)
    model_paths = [p[0].path for p in predictions]
    for key, value in evaluate(model_paths, test_y, DEPTH).items():
        out[f"{prefix}.{key}"] = round(value, 4)

    started = time.perf_counter()
    baseline = TfidfSvmBaseline(DEPTH).fit(train_x, train_y)
    out[f"{prefix}.baseline.train_seconds"] = round(time.perf_counter() - started, 1)
    per_level = baseline.predict_levels(test_x)
    for level in range(1, DEPTH + 1):
        truth = [baseline.level_label(p, level) for p in test_y]
        for key, value in level_scores(per_level[level - 1], truth).items():
            out[f"{prefix}.baseline.level{level}.{key}"] = round(value, 4)
    combined = baseline.predict_paths(test_x)
    out[f"{prefix}.baseline.path_accuracy"] = round(evaluate(combined, test_y, DEPTH)["path_accuracy"], 4)
    comparison = compare_with_tfidf(model_paths=model_paths, baseline_paths=combined, truth=test_y, depth=DEPTH)
    out[f"{prefix}.vs_tfidf.difference"] = round(comparison.difference, 4)
    out[f"{prefix}.vs_tfidf.ci_low"] = round(comparison.low, 4)
    out[f"{prefix}.vs_tfidf.ci_high"] = round(comparison.high, 4)
    out[f"{prefix}.vs_tfidf.cases"] = comparison.cases
    return out


def run_dataset(name: str, data: Dataset, config: ClassifierConfig, limit: int | None) -> dict:
    used = sample(data, limit)
    out = run_split(name, name, title_split(used), config)  # the headline: near-copies on one side
    out.update(run_split(name, f"{name}.random", random_split(used), config))  # the old figure, beside it
    print(json.dumps(out, indent=1), flush=True)
    return out


def interval(results: dict, prefix: str) -> str:
    low, high = results[f"{prefix}.vs_tfidf.ci_low"], results[f"{prefix}.vs_tfidf.ci_high"]
    return f"{results[f'{prefix}.vs_tfidf.difference']:+.4f} (95 % interval {low:+.4f} to {high:+.4f})"


def headline_rows(results: dict, datasets: list[str], quick: bool) -> list[str]:
    """Model beside the baseline, per dataset and level (the rest is in the key/value table)."""
    lines = [
        "Quick smoke run." if quick else "Full run.",
        "",
        "Full-path accuracy, split grouped by normalised title (headline) and the old random split:",
        "",
        "| dataset | split | test titles seen in training | model | TF-IDF+SVM | model - baseline |",
        "|---|---|---|---|---|---|",
    ]
    for name in datasets:
        for split, prefix in (("grouped by title", name), ("random (old)", f"{name}.random")):
            lines.append(
                f"| {name} | {split} | {results[f'{prefix}.test_titles_in_train']:.1%} "
                f"| {results[f'{prefix}.path_accuracy']:.4f} | {results[f'{prefix}.baseline.path_accuracy']:.4f} "
                f"| {interval(results, prefix)} |"
            )
    lines += [
        "",
        "Per level, split grouped by title:",
        "",
        "| dataset | metric | model | TF-IDF+SVM baseline |",
        "|---|---|---|---|",
    ]
    for name in datasets:
        for level in range(1, DEPTH + 1):
            for metric in ("accuracy", "macro_f1"):
                key = f"level{level}.{metric}"
                lines.append(
                    f"| {name} | {key} | {results[f'{name}.{key}']:.4f} | {results[f'{name}.baseline.{key}']:.4f} |"
                )
        lines.append(
            f"| {name} | path_accuracy | {results[f'{name}.path_accuracy']:.4f} "
            f"| {results[f'{name}.baseline.path_accuracy']:.4f} |"
        )
        lines.append(
            f"| {name} | train seconds | {results[f'{name}.train_seconds']} "
            f"| {results[f'{name}.baseline.train_seconds']} |"
        )
        lines.append(f"| {name} | predict / s (top-3 + attention) | {results[f'{name}.predict_per_second']} | |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3,000 products, 3 epochs")
    parser.add_argument("--datasets", default="fashion,flipkart")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    config = ClassifierConfig(num_threads=args.threads)
    if args.quick:
        config.epochs = 3
    if args.epochs:
        config.epochs = args.epochs
    limit = 3000 if args.quick else None
    loaders = {"fashion": load_fashion, "flipkart": load_flipkart}
    datasets = [d for d in args.datasets.split(",") if d]

    results: dict = {
        "meta.torch": f"{args.threads} torch threads, {os.cpu_count()} cpus visible, torch {torch.__version__}",
        "meta.split_seed": SPLIT_SEED,
        "meta.epochs": config.epochs,
    }
    for name in datasets:
        results.update(run_dataset(name, loaders[name](data_dir()), config, limit))

    title = "Hierarchical product classification"
    part = None if set(datasets) == set(loaders) else "_".join(datasets)
    path = write_results(
        "classification",
        results,
        title,
        part=part,
        quick=args.quick,
        table=headline_rows(results, datasets, args.quick),
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
