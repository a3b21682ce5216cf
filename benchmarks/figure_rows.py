"""The rows of the README's figures table (benchmarks/readme_figures.py): one function per row, each reading
results/<name>.json through `Results` and returning (what, result, strongest baseline in the same run, source).
A key that is not there raises `Missing`, and the row says "not measured" instead of a figure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any


class Missing(Exception):
    """A figure the table needs is in no results file."""


class Results:
    """Read access to results/<name>.json files, remembering which files the table used."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.cache: dict[str, dict[str, Any]] = {}

    def file(self, name: str) -> dict[str, Any]:
        if name not in self.cache:
            path = self.directory / f"{name}.json"
            if not path.exists():
                raise Missing(f"no {name}.json")
            self.cache[name] = json.loads(path.read_text())
        return self.cache[name]

    def __call__(self, name: str, key: str) -> Any:
        values = self.file(name)
        if key not in values:
            raise Missing(f"no `{key}` in {name}.json")
        return values[key]

    def optional(self, name: str, key: str) -> Any:
        return self.file(name).get(key)

    def source(self, *names: str) -> str:
        parts = []
        for name in names:
            values = self.file(name)
            date = str(values.get("meta.date", ""))
            date = date[:10] if date[:4].isdigit() else "date unknown"
            commit = str(values.get("meta.commit", "unknown"))
            if re.fullmatch(r"[0-9a-f]{40}(-dirty)?", commit):
                commit = commit[:10] + ("-dirty" if commit.endswith("-dirty") else "")
            else:
                commit = "unknown"
            parts.append(f"`{name}.json` ({date}, commit {commit})")
        return "; ".join(parts)


def f(value: float, digits: int = 3) -> str:
    return f"{value:,.{digits}f}"


def ahead(model: float, baseline: float) -> str:
    """' (ahead)' when the baseline beats the headline figure."""
    return " (ahead)" if baseline > model else ""


def strongest(r: Results, name: str, keys: dict[str, str]) -> tuple[str, float]:
    """(label, value) of the best baseline among `keys` (label -> key), all from one file."""
    label = max(keys, key=lambda k: r(name, keys[k]))
    return label, r(name, keys[label])


Row = tuple[str, str, str, str]  # what, result, strongest baseline (same run), source


def import_row(r: Results) -> Row:
    v = lambda key: r("import", key)  # noqa: E731
    result = (
        f"{v('flipkart.products'):,} Flipkart products in {v('flipkart.seconds')} s (re-import "
        f"{v('flipkart.reimport_seconds')} s, {v('flipkart.reimport_created')} created); {v('beauty.interactions'):,} "
        f"Beauty interactions in {v('beauty.seconds')} s (re-import {v('beauty.reimport_seconds')} s, "
        f"{v('beauty.reimport_created')} created)"
    )
    return "import (SQLite)", result, "—", r.source("import")


def classification_row(dataset: str) -> Callable[[Results], Row]:
    def row(r: Results) -> Row:
        v = lambda key: r("classification", f"{dataset}.{key}")  # noqa: E731
        metrics = [f"level{n}.macro_f1" for n in (1, 2, 3)] + ["path_accuracy"]
        model = [v(m) for m in metrics]
        base = [v(f"baseline.{m}") for m in metrics]
        wins = [m.split(".")[0].replace("level", "L") for m, a, b in zip(metrics, model, base, strict=True) if b > a]
        result = (
            f"{' / '.join(f(x) for x in model[:3])}, path {f(model[3], 4)}; {v('predict_per_second'):,.0f} "
            f"predictions/s; training {v('train_seconds'):,.0f} s"
        )
        baseline = f"TF-IDF + LinearSVC {' / '.join(f(x) for x in base[:3])}, path {f(base[3], 4)}; training "
        baseline += f"{v('baseline.train_seconds'):,.0f} s" + (f" (ahead on {', '.join(wins)})" if wins else "")
        what = f"classification, {dataset.title()} (macro-F1 L1 / L2 / L3, path accuracy)"
        return what, result, baseline, r.source("classification")

    return row


def taxonomy_row(dataset: str) -> Callable[[Results], Row]:
    def row(r: Results) -> Row:
        v = lambda key: r("taxonomy", f"{dataset}.{key}")  # noqa: E731
        levels = (1, 2, 3)
        model = [v(f"report.selected.level{n}.nmi") for n in levels]
        base = [v(f"report.baseline.level{n}.nmi") for n in levels]
        counts = " / ".join(str(v(f"report.selected.level{n}.clusters")) for n in levels)
        base_counts = " / ".join(str(v(f"report.baseline.level{n}.clusters")) for n in levels)
        wins = [f"L{n}" for n, a, b in zip(levels, model, base, strict=True) if b > a]
        result = (
            f"{' / '.join(f(x) for x in model)} ({v('selected.method')}, counts by {v('selected.count_rule')}: "
            f"{counts}); built in {v('report.selected.build_seconds')} s after encoding"
        )
        baseline = f"flat TF-IDF k-means, counts chosen on the development half ({base_counts}): "
        baseline += " / ".join(f(x) for x in base) + (f" (ahead on {', '.join(wins)})" if wins else "")
        what = (
            f"taxonomy built blind, {dataset.title()} (NMI level 1 / 2 / 3 on the report half; method and cluster "
            "counts chosen on the development half)"
        )
        return what, result, baseline, r.source("taxonomy")

    return row


def content_row(r: Results) -> Row:
    v = lambda key: r("similarity", f"flipkart.{key}")  # noqa: E731
    shipped, plain, tfidf = (
        v("content.same_leaf_rule.category_precision_at_10"),
        v("content.category_precision_at_10"),
        v("tfidf.category_precision_at_10"),
    )
    result = f"{f(shipped)} with the same-leaf rule ({f(plain)} without)"
    what = "similar items, content (Flipkart category precision@10)"
    return what, result, f"TF-IDF {f(tfidf)}{ahead(shipped, tfidf)}", r.source("similarity")


def beauty_similar_row(r: Results) -> Row:
    v = lambda key: r("similarity", f"beauty.{key}")  # noqa: E731
    hybrid, rule = v("hybrid.hit_at_10"), v("hybrid.min_visitors_rule.hit_at_10")
    signals = {"behaviour": "beauty.behavior.hit_at_10", "content": "beauty.content.hit_at_10"}
    label, best = strongest(r, "similarity", signals)
    result = f"hybrid {f(hybrid)} ({f(rule)} with the minimum-visitors rule)"
    other = "content" if label == "behaviour" else "behaviour"
    baseline = f"{label} {f(best)}{ahead(hybrid, best)} ({other} {f(r('similarity', signals[other]))})"
    return "similar items, Beauty next-item hit@10", result, baseline, r.source("similarity")


def interval(r: Results, name: str, prefix: str) -> str:
    """' (paired per-pair accuracy vs cosine +x, 95 % interval a to b)' when the run measured it, else ''."""
    low, high = r.optional(name, f"{prefix}.vs_cosine.ci_low"), r.optional(name, f"{prefix}.vs_cosine.ci_high")
    if low is None or high is None:
        return ""
    difference = r(name, f"{prefix}.vs_cosine.difference")
    points = f"{100 * difference:+.1f} points, 95 % interval {100 * low:+.1f} to {100 * high:+.1f}"
    return f" (pair accuracy vs cosine {points})"


def duplicates_row(r: Results) -> Row:
    v = lambda key: r("similarity", f"flipkart.duplicates.{key}")  # noqa: E731
    result = f"F1 {f(v('f1_test'))} (P {f(v('precision_test'))}, R {f(v('recall_test'))}) on held-out pairs"
    result += interval(r, "similarity", "flipkart.duplicates")
    baseline = f"cosine only {f(v('cosine_only_f1_test'))}{ahead(v('f1_test'), v('cosine_only_f1_test'))}"
    what = "duplicate scorer, Flipkart proxy pairs, in-source (fit on Flipkart's own training pairs)"
    return what, result, baseline, r.source("similarity")


def ann_row(r: Results) -> Row:
    v = lambda key: r("similarity", f"ann.{key}")  # noqa: E731
    result = (
        f"recall@10 {f(v('recall_at_10_20k'))} on 20k real vectors, {f(v('recall_at_10_1m'))} on 1M synthetic; "
        f"1M build {v('build_seconds_1m'):,.0f} s; query p50 {f(v('query_ms_p50_1m'), 2)} ms, "
        f"p99 {f(v('query_ms_p99_1m'), 2)} ms"
    )
    baseline = f"exact search: recall 1, {f(v('exact_query_ms_1m'), 1)} ms a query on 1M"
    return "ANN (HNSW)", result, baseline, r.source("similarity")


def encoder_row(r: Results) -> Row:
    result = (
        f"{r('similarity', 'encoder.texts_per_second'):,.0f} texts/s on Flipkart titles + brand; "
        f"{r('taxonomy', 'encoder.titles_per_second'):,.0f} titles/s on Fashion titles (separate runs)"
    )
    return "sentence encoder (MiniLM, CPU)", result, "—", r.source("similarity", "taxonomy")


def recommendation_row(scope: str) -> Callable[[Results], Row]:
    prefix = "beauty." if scope == "excluded" else "beauty.all_items."

    def row(r: Results) -> Row:
        v = lambda model, m: r("recommendation", f"{prefix}{model}.{m}_at_10")  # noqa: E731
        pair = lambda model: f"{f(v(model, 'hr'), 4)} / {f(v(model, 'ndcg'), 4)}"  # noqa: E731
        label, _ = strongest(r, "recommendation", {m: f"{prefix}{m}.hr_at_10" for m in ("popularity", "itemknn")})
        wins = [m.upper() for m in ("hr", "ndcg") if v(label, m) > v("sasrec", m)]
        result = f"SASRec {pair('sasrec')}; SASRec + item-kNN blend {pair('sasrec_itemknn')}"
        if scope == "excluded":  # a run that reused an earlier run's model measured no training
            seconds = r.optional("recommendation", "beauty.sasrec.train_seconds")
            result += f"; training {seconds} s" if seconds is not None else "; reused model, training not measured"
        baseline = f"{'item-kNN' if label == 'itemknn' else label} {pair(label)}"
        baseline += f" (ahead of SASRec on {', '.join(wins)})" if wins else ""
        baseline += f"; popularity {pair('popularity')}" if label != "popularity" else ""
        what = "recommendations, Beauty leave-one-out, full ranking (HR@10 / NDCG@10, "
        what += "history removed)" if scope == "excluded" else "nothing removed)"
        return what, result, baseline, r.source("recommendation")

    return row


def explanation_row(r: Results) -> Row:
    method = r("recommendation", "explain.method")
    shipped = r("recommendation", f"explain.{method}.deletion_gap")
    methods = [m for m in ("attention", "similarity", "occlusion", "attention_similarity") if m != method]
    gaps = sorted(((r("recommendation", f"explain.{m}.deletion_gap"), m) for m in methods), reverse=True)
    result = f"{method.replace('_', ' × ')}: {f(shipped, 2)} (score drop removing the most-weighted history item, "
    result += "minus removing a random one)"
    baseline = "; ".join(f"{m.replace('_', ' × ')} {f(gap, 2)}{ahead(shipped, gap)}" for gap, m in gaps)
    users = r("recommendation", f"explain.{method}.users")
    what = f"reasons' faithfulness (deletion gap, {users:,.0f} users)"
    return what, result, baseline, r.source("recommendation")


def bought_row(dataset: str) -> Callable[[Results], Row]:
    labels = {"popularity": "popularity", "recent_popularity": "recency-weighted popularity", "rules": "pair rules"}

    def row(r: Results) -> Row:
        v = lambda s: r("bought_together", f"{dataset}.{s}.hit_at_10")  # noqa: E731
        label, best = strongest(r, "bought_together", {s: f"{dataset}.{s}.hit_at_10" for s in labels})
        result = f"blend {f(v('blend'), 4)} (graph alone {f(v('graph'), 4)})"
        rest = ", ".join(f"{labels[s]} {f(v(s), 4)}" for s in labels if s != label)
        baseline = f"{labels[label]} {f(best, 4)}{ahead(v('blend'), best)}; {rest}"
        what = f"bought together, {dataset.title()} hidden-item hit@10"
        return what, result, baseline, r.source("bought_together")

    return row


def matching_row(dataset: str, label: str) -> Callable[[Results], Row]:
    def row(r: Results) -> Row:
        v = lambda s: r("matching", f"{dataset}.{s}.f1")  # noqa: E731
        loso = v("zero_shot")
        result = f"default scorer leave-one-source-out (trained without {label}) {f(loso)}"
        result += interval(r, "matching", f"{dataset}.zero_shot")
        result += f"; in-source (its training pairs included) {f(v('shipped'))}"
        result += f"; trained on the shop's labels {f(v('trained_features'))}"
        baseline = f"cosine {f(v('cosine'))}{ahead(loso, v('cosine'))}"
        cross = r.optional("matching", f"{dataset}.trained.f1")
        baseline += f"; cross-encoder trained on the shop's labels {f(cross)}" if cross is not None else ""
        return f"cross-shop matching, {label} (F1)", result, baseline, r.source("matching")

    return row


def admin_row(r: Results) -> Row:
    v = lambda key: r("admin", f"admin.{key}")  # noqa: E731
    actions = {
        "move": "move_category",
        "rename": "rename_category",
        "accept a suggestion": "accept_suggestion",
        "merge": "merge_pair",
        "accept 50": "bulk_accept_50",
    }
    timings = ", ".join(
        f"{label} {v(f'{key}.median_seconds')} s (p95 {v(f'{key}.p95_seconds')} s, {v(f'{key}.repetitions')} requests)"
        for label, key in actions.items()
    )
    result = (
        f'median per request: {timings}; "Train classifier" with its defaults {v("train_default.seconds"):,.0f} s '
        f"to the end (held-out path accuracy {f(v('train_default.path_accuracy'))})"
    )
    return f"admin clicks, demo catalog ({v('catalog_products'):,} products)", result, "—", r.source("admin")


def api_row(r: Results) -> Row:
    v = lambda key: r("api_load", f"api.{key}")  # noqa: E731
    result = (
        f"similar items {v('similar.rps')} req/s, p50 {v('similar.p50_ms')} ms, p99 {v('similar.p99_ms')} ms; "
        f"search {v('search.rps')} req/s, p50 {v('search.p50_ms')} ms, p99 {v('search.p99_ms')} ms"
    )
    what = f"API, {v('products'):,.0f} products, gunicorn {v('gunicorn_workers'):.0f} workers"
    connections = r.optional("api_load", "api.connections")
    what += f", {connections:.0f} connections" if connections else ""
    return what, result, "—", r.source("api_load")


def recommendation_api_row(r: Results) -> Row:
    v = lambda key: r("recommendation", f"api.recommendations.{key}")  # noqa: E731
    result = f"{v('rps')} req/s, p50 {v('p50_ms')} ms, p99 {v('p99_ms')} ms, {v('errors'):.0f} errors"
    what = f"recommendations API, gunicorn {v('gunicorn_workers')} workers, {v('connections')} connections"
    return what, result, "—", r.source("recommendation")


def pages_row(r: Results) -> Row:
    v = lambda key: r("pages", f"page.{key}")  # noqa: E731
    result = ", ".join(f"{page} {v(f'{page}.p95_ms')} ms" for page in ("home", "category", "product", "search"))
    what = f"storefront pages, server time p95 ({v('catalog_products'):,} products, in-process)"
    return what, result, "—", r.source("pages")


def fuzz_row(r: Results) -> Row:
    v = lambda key: r("fuzz", f"fuzz.{key}")  # noqa: E731
    result = f"{v('requests'):,.0f} requests, {v('server_errors'):.0f} server errors, "
    result += f"{v('schema_violations'):.0f} schema violations"
    return f"API fuzzing, {v('operations'):.0f} operations", result, "—", r.source("fuzz")


def load_row(r: Results) -> Row:
    v = lambda key: r("load", f"load.{key}")  # noqa: E731
    result = (
        f"{v('rps')} req/s, p50 {v('p50_ms')} ms, p99 {v('p99_ms')} ms, {v('errors'):.0f} errors; events sent / "
        f"accepted / stored {v('events_sent'):.0f} / {v('events_accepted'):.0f} / {v('events_stored'):.0f}"
    )
    models = r.optional("load", "load.models_trained")
    if models is None:  # a run from before load.py trained models: only fallbacks answered
        result += "; no trained models (recommendations and bought-together were fallbacks)"
    else:
        served = r.optional("load", "load.recommendations_not_fallback_share")
        result += f"; models: {models}; recommendations ranked by the model: "
        result += f"{100 * served:.0f} %" if served is not None else "none asked"
    what = (
        f"mixed load, {v('products'):,.0f} products, gunicorn {v('gunicorn_workers'):.0f} workers, "
        f"{v('connections'):.0f} connections × {v('seconds'):.0f} s"
    )
    return what, result, "—", r.source("load")


def scale_row(r: Results) -> Row:
    v = lambda key: r("scale", f"scale.{key}")  # noqa: E731
    result = (
        f"similar items p50 {v('similar_p50_ms')} ms, p99 {v('similar_p99_ms')} ms, {v('similar_rps')} req/s "
        f"(cached {v('similar_cached_rps')} req/s); search p50 {v('search_p50_ms')} ms, p99 {v('search_p99_ms')} ms, "
        f"{v('search_rps')} req/s; HNSW recall@10 {f(v('recall_at_10'))}; {v('errors'):.0f} errors"
    )
    return f"{v('products'):,.0f} synthetic products, PostgreSQL", result, "—", r.source("scale")


ROWS: list[Callable[[Results], Row]] = [
    import_row,
    classification_row("fashion"),
    classification_row("flipkart"),
    taxonomy_row("fashion"),
    taxonomy_row("flipkart"),
    content_row,
    beauty_similar_row,
    duplicates_row,
    ann_row,
    encoder_row,
    recommendation_row("excluded"),
    recommendation_row("all_items"),
    explanation_row,
    bought_row("groceries"),
    bought_row("beauty"),
    matching_row("pricerunner", "PriceRunner"),
    matching_row("flipkart", "Flipkart"),
    admin_row,
    api_row,
    recommendation_api_row,
    pages_row,
    fuzz_row,
    load_row,
    scale_row,
]
