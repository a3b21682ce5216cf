"""Frequently bought together on real baskets: popularity vs rules vs graph vs the blend.

Protocol (issue 11): baskets in time order, the last 20 % for test; for each test basket with two or
more distinct items one item (seeded) is hidden and every item is ranked given the rest (the rest
removed from the ranking): hit@10 and NDCG@10. The blend's weights, the recency half-life and the
prior strength are chosen on a validation split carved from the last 20 % of the training dates,
then everything is refit on all training baskets. `cold` cases are those whose hidden item was in
fewer than 5 training baskets. `<dataset>.served_vs_<baseline>.*`: the blend minus popularity / recency-weighted
popularity / pair co-occurrence in test hit@10 with the paired 95 % interval, by the product's own comparison code.

Groceries: baskets = (member, date). Beauty: each user's items reviewed on the same day, when
there are two or more. Node features for the graph: the item name/title through the local MiniLM.

Run: nice -n 10 .venv/bin/python benchmarks/bought_together.py [--skip-beauty] [--api] [--quick]
Writes benchmarks/results/bought_together.json and .md (`--skip-beauty`: bought_together.groceries.*;
`--quick`, Groceries only with a small grid and a few graph epochs: bought_together.quick.*).
"""

import argparse
import csv
import gzip
import sys
import time
from collections import defaultdict
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import numpy as np
import torch
from common import ROOT, write_results

sys.path.insert(0, str(ROOT))
from recommend.ml.bought_together import AssociationRules, BlendedScorer, CoPurchaseGraphModel, GraphConfig
from recommend.ml.bought_together.baselines import PairCooccurrence
from recommend.ml.bought_together.blend import choose_weights, weight_grid
from recommend.ml.bought_together.data import hidden_item_cases, item_basket_counts, split_by_time
from recommend.ml.bought_together.evaluate import case_hits, evaluate_cases
from recommend.ml.bought_together.weights import recency_weights
from recommend.ml.common.comparison import compare

DATA = ROOT.parent / "shared" / "data" / "raw"
SEED = 0
COLD_BELOW = 5


def groceries_baskets() -> tuple[list[list[int]], np.ndarray, list[str]]:
    """(member, date) baskets of item indexes in date order, each basket's day number, item names."""
    with open(DATA / "groceries_basket" / "Groceries_dataset_noheader.csv") as handle:
        rows = list(csv.reader(handle))
    names = sorted({row[2] for row in rows})
    index = {name: i for i, name in enumerate(names)}
    grouped: dict[tuple, list[int]] = defaultdict(list)
    for member, date, item in rows:
        key = (datetime.strptime(date, "%d-%m-%Y"), int(member))
        if index[item] not in grouped[key]:
            grouped[key].append(index[item])
    keys = sorted(grouped)
    days = np.array([key[0].timestamp() / 86400.0 for key in keys])
    return [grouped[key] for key in keys], days, names


def beauty_baskets() -> tuple[list[list[int]], np.ndarray, list[str]]:
    """Each user's same-day items (two or more), in time order; item titles."""
    folder = DATA / "amazon_beauty_5core"
    with open(folder / "beauty_items.csv") as handle:
        titles = {row["asin"]: row["title"] for row in csv.DictReader(handle)}
    asins = sorted(titles)
    index = {asin: i for i, asin in enumerate(asins)}
    grouped: dict[tuple, list[int]] = defaultdict(list)
    with gzip.open(folder / "beauty_interactions.csv.gz", "rt") as handle:
        for row in csv.DictReader(handle):
            key = (int(row["timestamp"]) // 86400, row["user_id"])
            if index[row["asin"]] not in grouped[key]:
                grouped[key].append(index[row["asin"]])
    keys = sorted(key for key, items in grouped.items() if len(items) >= 2)
    return [grouped[key] for key in keys], np.array([float(key[0]) for key in keys]), [titles[a] for a in asins]


def text_features(names: list[str], cache: Path) -> np.ndarray:
    if cache.exists():
        return np.load(cache)
    from recommend.ml.text_encoder import get_text_encoder

    vectors = get_text_encoder().encode([name[:200] for name in names])
    np.save(cache, vectors)
    return vectors


def fit_models(baskets, days, n_items, features, half_life, config, with_graph=True):
    """Rules and (optionally) the graph on `baskets`, recency-weighted; returns both and build seconds."""
    weights = recency_weights(days, half_life_days=half_life)
    started = time.monotonic()
    rules = AssociationRules(min_count=2).fit(baskets, n_items, basket_weights=weights)
    rules_seconds = time.monotonic() - started
    graph, graph_seconds = None, 0.0
    if with_graph:
        started = time.monotonic()
        graph = CoPurchaseGraphModel(config).fit(
            baskets,
            n_items=n_items,
            pair_counts=rules.pair_counts,
            item_counts=rules.item_weights,
            features=features,
            basket_weights=weights,
        )
        graph_seconds = time.monotonic() - started
    return rules, graph, rules_seconds, graph_seconds


def tune(train, train_days, n_items, features, half_lives, configs, max_cases):
    """Half-life on rules + popularity, the graph's config on its own, then the blend, on validation dates."""
    fit, val = split_by_time(train, 0.2)
    fit_days = train_days[: len(fit)]
    cases = hidden_item_cases(val, seed=SEED + 1)[:max_cases]
    best_half_life, best_value = None, -1.0
    for half_life in half_lives:
        rules, _, _, _ = fit_models(fit, fit_days, n_items, None, half_life, configs[0], with_graph=False)
        _, value = choose_weights(rules=rules, graph=None, cases=cases, grid=weight_grid(with_graph=False))
        print(f"  half-life {half_life}: validation hit@10 {value:.4f}", flush=True)
        if value > best_value:
            best_half_life, best_value = half_life, value
    best_graph, best_config, best_graph_value = None, configs[0], -1.0
    for config in configs:
        rules, graph, _, _ = fit_models(fit, fit_days, n_items, features, best_half_life, config)
        value = evaluate_cases(graph.score, cases)["hit_at_10"]
        print(f"  graph {config}: validation hit@10 {value:.4f}", flush=True)
        if value > best_graph_value:
            best_graph, best_config, best_graph_value = graph, config, value
    weights, value = choose_weights(rules=rules, graph=best_graph, cases=cases, grid=weight_grid())
    print(f"  chosen half-life {best_half_life}, {weights}: validation hit@10 {value:.4f}", flush=True)
    return best_half_life, best_config, weights, value


def run_dataset(name, baskets, days, names, *, half_lives, configs, max_val_cases, features=None):
    n_items = len(names)
    train, test = split_by_time(baskets, 0.2)
    train_days = days[: len(train)]
    half_life, config, weights, val_hit = tune(train, train_days, n_items, features, half_lives, configs, max_val_cases)
    rules, graph, rules_s, graph_s = fit_models(train, train_days, n_items, features, half_life, config)
    blend = BlendedScorer(rules=rules, graph=graph, weights=weights)
    raw_popularity = item_basket_counts(train, n_items).astype(np.float64)
    recent_popularity = rules.popularity()
    scorers = {
        "popularity": lambda given: raw_popularity,
        "recent_popularity": lambda given: recent_popularity,
        "pair_cooccurrence": PairCooccurrence().fit(train, n_items).score,
        "rules": rules.score,
        "graph": graph.score,
        "blend": blend.score,
    }
    cases = hidden_item_cases(test, seed=SEED)
    counts = item_basket_counts(train, n_items)
    cold = [case for case in cases if counts[case.target] < COLD_BELOW]
    out: dict[str, float | str | int | None] = {
        f"{name}.baskets.train": len(train),
        f"{name}.baskets.test": len(test),
        f"{name}.items": n_items,
        f"{name}.cases": len(cases),
        f"{name}.cold.cases": len(cold),
        f"{name}.build.rules_s": round(rules_s, 2),
        f"{name}.build.graph_s": round(graph_s, 2),
        f"{name}.rules.count": len(rules.table()),
        f"{name}.chosen.half_life_days": half_life if half_life is not None else "none",
        f"{name}.chosen.weights": str(asdict(weights)),
        f"{name}.chosen.graph": str(asdict(config)),
        f"{name}.chosen.validation_hit_at_10": round(val_hit, 4),
    }
    for signal, scorer in scorers.items():
        metrics = evaluate_cases(scorer, cases)
        out[f"{name}.{signal}.hit_at_10"] = round(metrics["hit_at_10"], 4)
        out[f"{name}.{signal}.ndcg_at_10"] = round(metrics["ndcg_at_10"], 4)
        if cold and signal != "recent_popularity":
            out[f"{name}.{signal}.cold.hit_at_10"] = round(evaluate_cases(scorer, cold)["hit_at_10"], 4)
        print(f"  {signal:18} hit@10 {metrics['hit_at_10']:.4f} ndcg@10 {metrics['ndcg_at_10']:.4f}", flush=True)
    out.update(served_versus(name, scorers, cases, ("popularity", "recent_popularity", "pair_cooccurrence")))
    return out


def served_versus(name, scorers, cases, baselines) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """What the product serves (the blend) against each baseline on the same test cases, through the product's own
    comparison code (`common.comparison.compare`): hit@10 difference with its paired 95 % interval."""
    served = case_hits(scorers["blend"], cases)
    values: dict[str, float] = {}
    for baseline in baselines:
        result = compare(
            metric="hit@10",
            model="blend",
            model_scores=served,
            baselines={baseline: case_hits(scorers[baseline], cases)},
            unit="baskets",
        )
        key = f"{name}.served_vs_{baseline}"
        values.update(
            {f"{key}.difference": result.difference, f"{key}.ci_low": result.low, f"{key}.ci_high": result.high}
        )
        print(f"  blend vs {baseline}: {result.difference:+.4f} ({result.low:+.4f} to {result.high:+.4f})", flush=True)
    return {key: round(value, 4) for key, value in values.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-beauty", action="store_true")
    parser.add_argument("--api", action="store_true", help="also measure the API through gunicorn")
    parser.add_argument("--quick", action="store_true", help="Groceries only, small grid, 2 graph epochs (smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.skip_beauty = True
    # One thread: the 2 shared cores are oversubscribed here and 2 threads ran the graph 5x slower.
    torch.set_num_threads(1)
    results: dict = {"seed": SEED, "split": "time-ordered baskets, last 20% test; validation = last 20% of train"}
    baskets, days, names = groceries_baskets()
    print(f"groceries: {len(baskets)} baskets, {len(names)} items", flush=True)
    features = text_features(names, Path("/tmp/bt_groceries_vectors.npy"))
    results.update(
        run_dataset(
            "groceries",
            baskets,
            days,
            names,
            half_lives=(None, 60) if args.quick else (None, 30, 60, 120, 240),
            configs=(
                (GraphConfig(epochs=2),)
                if args.quick
                else (GraphConfig(epochs=8, lr=0.003), GraphConfig(epochs=3), GraphConfig(epochs=16, lr=0.003))
            ),
            max_val_cases=500 if args.quick else 3000,
            features=features,
        )
    )
    if not args.skip_beauty:
        baskets, days, names = beauty_baskets()
        print(f"beauty: {len(baskets)} same-day baskets, {len(names)} items", flush=True)
        features = text_features(names, Path("/tmp/bt_beauty_vectors.npy"))
        results.update(
            run_dataset(
                "beauty",
                baskets,
                days,
                names,
                half_lives=(None, 180, 720),
                configs=(GraphConfig(epochs=4), GraphConfig(epochs=8)),
                max_val_cases=1500,
                features=features,
            )
        )
    if args.api:
        from bought_together_api import measure_api

        results.update(measure_api(seconds=3 if args.quick else 15))
    part = "groceries" if args.skip_beauty and not args.quick else None
    write_results("bought_together", results, "Frequently bought together (issue 11)", part=part, quick=args.quick)


if __name__ == "__main__":
    main()
