"""Benchmark: hierarchical GRU classifier vs TF-IDF + LinearSVC per level.

Usage (from the project root)::

    .venv/bin/python benchmarks/classification.py            # full run
    .venv/bin/python benchmarks/classification.py --quick    # smoke run

Data comes from ``$SHOP_DATA_DIR`` (default ``../shared/data/raw`` relative to
the project root).  Each dataset gets one fixed, seeded 80/20 split that the
model and the baseline share; the model's early stopping and logit-adjustment
choice use a validation slice carved out of the 80% train part only.
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
from recommend.ml.classification.metrics import evaluate, level_scores  # noqa: E402

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


def split(data: Dataset, limit: int | None) -> tuple[Dataset, Dataset]:
    texts, paths = data
    order = np.random.default_rng(SPLIT_SEED).permutation(len(texts))
    if limit:
        order = order[:limit]
    cut = round(len(order) * 0.8)
    pick = lambda idx: ([texts[i] for i in idx], [paths[i] for i in idx])  # noqa: E731
    return pick(order[:cut]), pick(order[cut:])


def run_dataset(name: str, data: Dataset, config: ClassifierConfig, limit: int | None) -> dict:
    (train_x, train_y), (test_x, test_y) = split(data, limit)
    print(f"[{name}] train {len(train_x)} test {len(test_x)}", flush=True)
    out: dict[str, float] = {f"{name}.train_size": len(train_x), f"{name}.test_size": len(test_x)}

    started = time.perf_counter()
    model = train_classifier(train_x, train_y, config, progress=lambda f, m: print(f"  [{name}] {m}", flush=True))
    out[f"{name}.train_seconds"] = round(time.perf_counter() - started, 1)
    out[f"{name}.model.tau"] = model.tau
    out[f"{name}.model.wide_scale"] = model.wide_scale
    out[f"{name}.model.deep_weight"] = model.deep_weight
    started = time.perf_counter()
    predictions = model.predict(test_x, top_k=3)
    out[f"{name}.predict_per_second"] = round(len(test_x) / (time.perf_counter() - started), 1)
    for key, value in evaluate([p[0].path for p in predictions], test_y, DEPTH).items():
        out[f"{name}.{key}"] = round(value, 4)

    started = time.perf_counter()
    baseline = TfidfSvmBaseline(DEPTH).fit(train_x, train_y)
    out[f"{name}.baseline.train_seconds"] = round(time.perf_counter() - started, 1)
    per_level = baseline.predict_levels(test_x)
    for level in range(1, DEPTH + 1):
        truth = [baseline.level_label(p, level) for p in test_y]
        for key, value in level_scores(per_level[level - 1], truth).items():
            out[f"{name}.baseline.level{level}.{key}"] = round(value, 4)
    combined = baseline.predict_paths(test_x)
    out[f"{name}.baseline.path_accuracy"] = round(evaluate(combined, test_y, DEPTH)["path_accuracy"], 4)
    print(json.dumps(out, indent=1), flush=True)
    return out


def headline_rows(results: dict, datasets: list[str], quick: bool) -> list[str]:
    """Model beside the baseline, per dataset and level (the rest is in the key/value table)."""
    lines = [
        "Quick smoke run." if quick else "Full run.",
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
