"""Product matching across shops: out of the box (no target labels) vs trained on the target's labels.

Sets (each split by product, thresholds chosen on validation, figures on test only):
* ``flipkart``: the Flipkart variant proxy (``recommend.ml.duplicates.labels``).
* ``fashion``, ``beauty``: one listing vs an "other shop" rewrite of it, negatives the nearest
  other products (``cross_source.rewrite_pairs``).
* ``pricerunner``: offers of one product from two different merchants vs the nearest offers
  of other products in the category (``cross_source.pricerunner_pairs``): real cross-shop
  wording, the set this benchmark is about. File: ``$PRICERUNNER_CSV`` (default
  ``var/datasets/pricerunner/pricerunner_aggregate.csv``; public copy at
  github.com/KelvinLam05/product_classification, sha256 c22207bd...1cca).

Per set: ``cosine`` (record-embedding cosine alone, threshold on the set's validation part),
``zero_shot`` (the shipped scorer's recipe trained on the OTHER sets only, train and validation parts: the
default scorer leave-one-source-out, on a shop it never saw; the honest "out of the box" figure),
``trained_features`` (the feature scorer fit on ``--train-pairs`` of the set's train part),
``trained`` (the MiniLM cross-encoder fine-tuned on the same pairs; pricerunner and flipkart)
and ``shipped`` (the default written with ``--write-default``: all sets' train parts, the scored set's own
included: the in-source figure, not what a new shop gets). Beside each model, ``<set>.<model>.vs_cosine.*``:
the paired difference in per-pair correctness (each at its own validation threshold) against cosine, with a
95 % interval (recommend.ml.common.comparison.compare).
The public matching benchmarks (Magellan/DeepMatcher, WDC, Abt-Buy, Amazon-Google,
Walmart-Amazon) are not used here in any way.

    nice -n 10 .venv/bin/python benchmarks/matching.py [--write-default] [--skip-cross-encoder] [--quick]

Writes benchmarks/results/matching.{json,md}; ``--only-cross-encoder`` writes matching.cross_encoder.* and
``--skip-cross-encoder`` matching.no_cross_encoder.* (never merged into the full run's file); ``--quick`` (a
few hundred pairs per set, no cross-encoder) writes matching.quick.*.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT, write_results
from recommend.ml.common.comparison import compare
from recommend.ml.duplicates import (
    DuplicateScorer,
    LabelledPair,
    best_f1_threshold,
    build_labelled_pairs_from_flipkart,
    precision_recall_f1,
    record_text,
    split_by_group,
    threshold_for_precision,
)
from recommend.ml.duplicates.cross_source import load_pricerunner, pricerunner_pairs, rewrite_pairs
from recommend.ml.duplicates.scorer import DEFAULT_PATH

Parts = dict[str, list[LabelledPair]]


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def load_sets(data: Path, seed: int, pricerunner_csv: Path) -> dict[str, Parts]:
    sets: dict[str, Parts] = {}
    with open(data / "flipkart_ecommerce_sample" / "flipkart_20k_joined.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    train, val, test = split_by_group(build_labelled_pairs_from_flipkart(rows, seed=seed), seed=seed)
    sets["flipkart"] = {"train": train, "val": val, "test": test}
    with open(data / "fashion_product_styles" / "styles_joined.csv", newline="") as handle:
        fashion = [
            {
                "title": r["productDisplayName"],
                "category": f"{r['masterCategory']} > {r['subCategory']} > {r['articleType']}",
                "group": r["id"],
            }
            for r in csv.DictReader(handle)
            if r.get("productDisplayName")
        ]
    sets["fashion"] = rewrite_pairs(fashion, source="fashion", seed=seed)
    with open(data / "amazon_beauty_5core" / "beauty_items.csv", newline="") as handle:
        beauty = [{"title": r["title"], "category": "beauty", "group": r["asin"]} for r in csv.DictReader(handle)]
    sets["beauty"] = rewrite_pairs(beauty, source="beauty", seed=seed)
    if pricerunner_csv.exists():
        sets["pricerunner"] = pricerunner_pairs(load_pricerunner(pricerunner_csv), seed=seed)
    else:
        log(f"pricerunner skipped: {pricerunner_csv} not found")
    return sets


def subsample(pairs: list[LabelledPair], n: int, seed: int) -> list[LabelledPair]:
    if len(pairs) <= n:
        return pairs
    idx = np.random.default_rng(seed).choice(len(pairs), n, replace=False)
    return [pairs[i] for i in sorted(idx)]


class Cosines:
    """Record-embedding cosines, each distinct record text encoded once (and kept in ``cache`` for reruns)."""

    def __init__(self, cache: Path | None = None) -> None:
        from recommend.ml.text_encoder import get_text_encoder

        self.encoder = get_text_encoder()
        self.cache = cache
        self.vectors: dict[str, np.ndarray] = {}
        if cache is not None and cache.exists():
            stored = np.load(cache, allow_pickle=False)
            self.vectors = dict(zip(stored["texts"].tolist(), stored["vectors"], strict=True))

    def save(self) -> None:
        if self.cache is not None and self.vectors:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            texts = list(self.vectors)
            np.savez(self.cache, texts=np.array(texts), vectors=np.stack([self.vectors[t] for t in texts]))

    def __call__(self, pairs: list[LabelledPair]) -> np.ndarray:
        missing = sorted({record_text(x) for p in pairs for x in (p.a, p.b)} - set(self.vectors))
        if missing:
            for text, vector in zip(missing, self.encoder.encode(missing, batch_size=128), strict=True):
                self.vectors[text] = vector
            self.save()
        a = np.stack([self.vectors[record_text(p.a)] for p in pairs])
        b = np.stack([self.vectors[record_text(p.b)] for p in pairs])
        return np.einsum("ij,ij->i", a, b)


def features(pairs: list[LabelledPair], cosines: Cosines) -> tuple[np.ndarray, np.ndarray]:
    x = DuplicateScorer().matrix([(p.a, p.b) for p in pairs], cosines(pairs))
    return x, np.array([p.label for p in pairs])


Matrices = dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]


def fit_scorer(matrices: Matrices, train: list[tuple[str, str]], val: list[tuple[str, str]]) -> DuplicateScorer:
    """Feature scorer fit on the (set, split) blocks ``train``, every set weighing the same in the loss."""
    x = np.concatenate([matrices[key][0] for key in train])
    y = np.concatenate([matrices[key][1] for key in train])
    weight = np.concatenate(
        [np.full(len(matrices[key][1]), len(y) / (len(train) * len(matrices[key][1]))) for key in train]
    )
    xv = np.concatenate([matrices[key][0] for key in val])
    yv = np.concatenate([matrices[key][1] for key in val])
    return DuplicateScorer(meta={"embed": "record"}).fit(x, y, xv, yv, sample_weight=weight)


def report(prefix: str, y: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    metrics = precision_recall_f1(y, scores, threshold)
    return {f"{prefix}.{k}": v for k, v in metrics.items()} | {f"{prefix}.threshold": float(threshold)}


def vs_cosine(
    prefix: str, y: np.ndarray, scores: np.ndarray, threshold: float, cosine: np.ndarray, cosine_threshold: float
) -> dict[str, float]:
    """Paired per-pair correctness, model - cosine, with its 95 % interval (the product's comparison code)."""
    result = compare(
        metric="pair accuracy",
        model=prefix,
        model_scores=((scores >= threshold) == (y == 1)).astype(float),
        baselines={"cosine": ((cosine >= cosine_threshold) == (y == 1)).astype(float)},
        unit="pairs",
    )
    return {
        f"{prefix}.accuracy": result.model_value,
        f"{prefix}.vs_cosine.difference": result.difference,
        f"{prefix}.vs_cosine.ci_low": result.low,
        f"{prefix}.vs_cosine.ci_high": result.high,
        f"{prefix}.vs_cosine.pairs": float(result.cases),
    }


def tag(pairs: list[LabelledPair], source: str) -> list[LabelledPair]:
    for p in pairs:
        p.source = p.source or source
    return pairs


def run_cross_encoder(name: str, train: list, val: list, test: list, seed: int, epochs: int) -> dict[str, float]:
    from recommend.ml.duplicates.cross_encoder import CrossEncoderMatcher

    matcher = CrossEncoderMatcher()
    log(f"{name}: cross-encoder on {len(train)} pairs, {epochs} epochs")
    matcher.fit(
        [(p.a, p.b) for p in train],
        [p.label for p in train],
        val_pairs=[(p.a, p.b) for p in val],
        val_labels=[p.label for p in val],
        epochs=epochs,
        seed=seed,
        progress=lambda f, m: log(f"  {f:.0%} {m}"),
    )
    started = time.perf_counter()
    scores = matcher.score_pairs([(p.a, p.b) for p in test])
    per_second = len(test) / (time.perf_counter() - started)
    y = np.array([p.label for p in test])
    out = report(f"{name}.trained", y, scores, matcher.threshold)
    out[f"{name}.trained.train_seconds"] = float(matcher.meta["train_seconds"])
    out[f"{name}.trained.train_pairs"] = float(len(train))
    out[f"{name}.trained.pairs_per_second"] = per_second
    return out


def first_stage_speed(test: list[LabelledPair], scorer: DuplicateScorer, cosines: Cosines) -> dict[str, float]:
    pairs = [(p.a, p.b) for p in test[:5000]]
    precomputed = cosines(test[:5000])
    started = time.perf_counter()
    scorer.score_pairs(pairs, precomputed)
    features_only = len(pairs) / (time.perf_counter() - started)
    fresh = Cosines()  # nothing cached: the records are embedded too, as score_pairs on a new file does
    started = time.perf_counter()
    scorer.score_pairs(pairs, fresh(test[:5000]))
    return {
        "speed.first_stage.pairs_per_second": features_only,
        "speed.first_stage_with_encoding.pairs_per_second": len(pairs) / (time.perf_counter() - started),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-pairs", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--skip-cross-encoder", action="store_true")
    parser.add_argument("--only-cross-encoder", action="store_true", help="only the cross-encoder rows (own file)")
    parser.add_argument("--cross-encoder-sets", default="pricerunner")
    parser.add_argument("--cross-encoder-val-pairs", type=int, default=1500)
    parser.add_argument("--write-default", action="store_true", help=f"save the shipped scorer to {DEFAULT_PATH}")
    parser.add_argument("--quick", action="store_true", help="a few hundred pairs per set, no cross-encoder")
    args = parser.parse_args()
    if args.quick:
        args.skip_cross_encoder, args.only_cross_encoder, args.train_pairs = True, False, 300
        args.write_default = False  # the shipped scorer comes from a full run only
    title = "Product matching across shops (benchmarks/matching.py)"
    part = "cross_encoder" if args.only_cross_encoder else "no_cross_encoder" if args.skip_cross_encoder else None
    part = None if args.quick else part
    import torch

    torch.set_num_threads(2)
    data = Path(os.environ.get("SHOP_DATA_DIR", ROOT.parent / "shared" / "data" / "raw"))
    csv_path = Path(os.environ.get("PRICERUNNER_CSV", ROOT / "var/datasets/pricerunner/pricerunner_aggregate.csv"))
    sets = load_sets(data, args.seed, csv_path)
    for name, parts in sets.items():
        for split in parts:
            # Validation and train capped so every set counts alike and encoding stays bounded.
            cap = {"train": 3000, "val": 1500, "test": 3000}[split] // (10 if args.quick else 1)
            parts[split] = tag(subsample(parts[split], cap, args.seed), name)
        log(f"{name}: " + ", ".join(f"{s} {len(v)} ({sum(p.label for p in v)} pos)" for s, v in parts.items()))
    if args.only_cross_encoder:
        results: dict[str, float | str] = {"seed": float(args.seed)}
        for name in args.cross_encoder_sets.split(","):
            parts = sets[name]
            few = subsample(parts["train"], args.train_pairs, args.seed)
            val = subsample(parts["val"], args.cross_encoder_val_pairs, args.seed)
            results |= run_cross_encoder(name, few, val, parts["test"], args.seed, args.epochs)
            results[f"{name}.trained.val_pairs"] = float(len(val))
            log(f"{name}: trained (cross-encoder) F1 {results[f'{name}.trained.f1']:.3f}")
            write_results("matching", results, title, part=part)  # after each set: this run's file so far
        return
    cosines = Cosines(ROOT / "var" / "cache" / f"matching_vectors_seed{args.seed}.npz")
    matrices: Matrices = {}
    for name, parts in sets.items():
        for split, pairs in parts.items():
            matrices[(name, split)] = features(pairs, cosines)
        log(f"{name}: features ready")
    results: dict[str, float | str] = {"seed": float(args.seed), "split": "by product, 60/20/20; test only"}
    results["sets"] = ", ".join(sets)  # pricerunner only where its CSV is present
    results["protocol.shipped"] = "in-source: trained on every set's train part, the scored set's included"
    results["protocol.zero_shot"] = "leave-one-source-out: the shipped recipe trained without the scored set"
    cosine_of: dict[str, tuple[np.ndarray, float]] = {}
    for name, parts in sets.items():
        x_test, y_test = matrices[(name, "test")]
        y_val = matrices[(name, "val")][1]
        cosine_threshold, _ = best_f1_threshold(y_val, cosines(parts["val"]))
        cosine_test = cosines(parts["test"])
        cosine_of[name] = (cosine_test, cosine_threshold)
        results |= report(f"{name}.cosine", y_test, cosine_test, cosine_threshold)
        results[f"{name}.cosine.accuracy"] = float(np.mean((cosine_test >= cosine_threshold) == (y_test == 1)))
        others = [n for n in sets if n != name]
        zero = fit_scorer(matrices, [(n, "train") for n in others], [(n, "val") for n in others])
        results |= report(f"{name}.zero_shot", y_test, zero.predict(x_test), zero.threshold)
        results |= vs_cosine(f"{name}.zero_shot", y_test, zero.predict(x_test), zero.threshold, *cosine_of[name])
        few = subsample(parts["train"], args.train_pairs, args.seed)
        matrices[(name, "few")] = features(few, cosines)
        started = time.perf_counter()
        trained = fit_scorer(matrices, [(name, "few")], [(name, "val")])
        results[f"{name}.trained_features.train_seconds"] = time.perf_counter() - started
        results |= report(f"{name}.trained_features", y_test, trained.predict(x_test), trained.threshold)
        results |= vs_cosine(
            f"{name}.trained_features", y_test, trained.predict(x_test), trained.threshold, *cosine_of[name]
        )
        f1s = {k.split(".", 1)[1]: v for k, v in results.items() if k.startswith(f"{name}.") and k.endswith(".f1")}
        log(f"{name}: F1 " + ", ".join(f"{k} {v:.3f}" for k, v in f1s.items()))
    shipped = fit_scorer(matrices, [(n, "train") for n in sets], [(n, "val") for n in sets])
    shipped.meta.update({"trained_on": sorted(sets), "seed": args.seed, "date": datetime.now(UTC).date().isoformat()})
    x_val = np.concatenate([matrices[(n, "val")][0] for n in sets])
    y_val = np.concatenate([matrices[(n, "val")][1] for n in sets])
    high = threshold_for_precision(y_val, shipped.predict(x_val), 0.95)
    shipped.meta["high_precision_threshold"] = max(high, shipped.threshold)
    for name in sets:
        x_test, y_test = matrices[(name, "test")]
        results |= report(f"{name}.shipped", y_test, shipped.predict(x_test), shipped.threshold)
        results |= vs_cosine(f"{name}.shipped", y_test, shipped.predict(x_test), shipped.threshold, *cosine_of[name])
        shipped.meta[f"{name}_test_f1"] = results[f"{name}.shipped.f1"]
    if args.write_default:
        shipped.save(DEFAULT_PATH)
        log(f"shipped scorer written to {DEFAULT_PATH}")
    speed_set = sets.get("pricerunner") or sets["flipkart"]
    results |= first_stage_speed(speed_set["test"], shipped, cosines)
    if not args.skip_cross_encoder:
        for name in args.cross_encoder_sets.split(","):
            if name in sets:
                parts = sets[name]
                few = subsample(parts["train"], args.train_pairs, args.seed)
                results |= run_cross_encoder(name, few, parts["val"], parts["test"], args.seed, args.epochs)
                log(f"{name}: trained (cross-encoder) F1 {results[f'{name}.trained.f1']:.3f}")
    write_results("matching", results, title, part=part, quick=args.quick)


if __name__ == "__main__":
    main()
