"""Amazon Beauty leave-one-out, full ranking over all 12,101 items: popularity, item-kNN and SASRec.

Protocol (../shared/data/README.md): per user, last item = test, second to last = validation, the
rest = training; the test item is ranked against every item. Headline figures remove the user's
history from the ranking (RecBole's full-sort convention); `beauty.all_items.*` remove nothing.
Item-kNN's parameters and SASRec's early stopping use the validation item only. Then: coverage,
popularity percentile and diversity of the top-10 lists (Beauty has no categories: groups are 50
k-means clusters of title TF-IDF), HR@10 by history length and target popularity, the explanation
deletion gap over 1,000 users; `beauty.served.*`: the intent ranker that serves (over SASRec), and
`beauty.served_vs_<baseline>.*`: it minus SASRec / popularity / item-kNN in test hit@10 with the paired
95 % interval, by the product's own comparison code; and with --api
the p99 of GET /api/v1/recommendations/ (gunicorn, wrk).

Run: nice -n 10 .venv/bin/python benchmarks/recommendation.py [--api] [--workdir DIR] [--api-only] [--quick]
Writes benchmarks/results/recommendation.{json,md} (`--api-only`: recommendation.api.*; `--quick`, the first
2,000 shoppers, SASRec capped at 30 s, 100 users for the explanation check: recommendation.quick.*).
`--reuse-model` measures --workdir's SASRec without training it: its training time is not this run's and is
not reported (`beauty.sasrec.reused_model` says so).
"""

import argparse
import csv
import gzip
import os
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from api_load import gunicorn_site, run_wrk
from common import ROOT, setup_django, write_results

sys.path.insert(0, str(ROOT))
from recommend.ml.common.comparison import compare
from recommend.ml.common.metrics import hits_at_k
from recommend.ml.sequential.baselines import ItemKNN, Popularity
from recommend.ml.sequential.data import ItemVocabulary, item_popularity, leave_one_out
from recommend.ml.sequential.evaluation import hit_ndcg, list_metrics, rank_all
from recommend.ml.sequential.explain import METHODS, deletion_gap
from recommend.ml.sequential.pipeline import SequentialArtifact
from recommend.ml.sequential.sasrec import SASRecConfig
from recommend.ml.sequential.training import SASRecRecommender, TrainingConfig

SEED = 42
KNN_GRID = [
    {"window": 3, "gap_decay": 0.7, "recency": 0.6},
    {"window": 5, "gap_decay": 0.7, "recency": 0.5},
    {"window": 5, "gap_decay": 0.8, "recency": 0.5},
    {"window": 8, "gap_decay": 0.7, "recency": 0.5},
]
MODEL = {"hidden": 64, "layers": 2, "heads": 1, "max_length": 50, "dropout": 0.5, "attention_dropout": 0.5}


def load_beauty(folder: Path) -> tuple[list[str], dict[str, str], list[list[str]]]:
    """(item ids, titles, per-user ASIN sequences in time order; same-day ties keep the source order)."""
    with open(folder / "beauty_items.csv") as handle:
        titles = {row["asin"]: row["title"] for row in csv.DictReader(handle)}
    events: dict[str, list] = defaultdict(list)
    with gzip.open(folder / "beauty_interactions.csv.gz", "rt") as handle:
        for row in csv.DictReader(handle):
            events[row["user_id"]].append((int(row["timestamp"]), int(row["seq_pos"]), row["asin"]))
    sequences = [[asin for _, _, asin in sorted(rows)] for _, rows in sorted(events.items())]
    return list(titles), titles, sequences


def title_groups(vocabulary: ItemVocabulary, titles: dict[str, str], clusters: int = 50) -> np.ndarray:
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [titles.get(item, "") for item in vocabulary.ids]
    matrix = TfidfVectorizer(min_df=3, stop_words="english").fit_transform(texts)
    labels = MiniBatchKMeans(n_clusters=clusters, random_state=SEED, n_init=3).fit_predict(matrix)
    return np.concatenate([[-1], labels])


def measure(name, scorer, split, popularity, groups, hits=None) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """`hits`: filled with the test users' 1/0 hit@10 under `name`, for `served_versus`."""
    values: dict[str, float] = {}
    valid = rank_all(scorer, split.valid_histories(), split.valid_target)
    values[f"valid.{name}.hr_at_10"], values[f"valid.{name}.ndcg_at_10"] = hit_ndcg(valid.ranks_excluded)
    test = rank_all(scorer, split.test_histories(), split.test_target)
    if hits is not None:
        hits[name] = hits_at_k(test.ranks_excluded, 10)
    values[f"beauty.{name}.hr_at_10"], values[f"beauty.{name}.ndcg_at_10"] = hit_ndcg(test.ranks_excluded)
    values[f"beauty.all_items.{name}.hr_at_10"], values[f"beauty.all_items.{name}.ndcg_at_10"] = hit_ndcg(
        test.ranks_all
    )
    lists = list_metrics(
        test, histories=split.test_histories(), targets=split.test_target, popularity=popularity, groups=groups
    )
    values.update({f"beauty.{name}.{key}": value for key, value in lists.items()})
    hr, ndcg = values[f"beauty.{name}.hr_at_10"], values[f"beauty.{name}.ndcg_at_10"]
    print(f"{name:10} test HR@10 {hr:.4f} NDCG@10 {ndcg:.4f}")
    return {key: round(value, 4) for key, value in values.items()}


def served_versus(hits: dict, served: str, baselines: tuple[str, ...]) -> dict[str, float]:
    """What the product serves (the intent ranker over SASRec) against each baseline on the same test users,
    through the product's own comparison code (`common.comparison.compare`): hit@10 difference, paired 95 % interval."""
    values: dict[str, float] = {}
    for baseline in baselines:
        result = compare(
            metric="hit@10", model=served, model_scores=hits[served], baselines={baseline: hits[baseline]}, unit="users"
        )
        name = f"beauty.served_vs_{baseline}"
        values.update(
            {f"{name}.difference": result.difference, f"{name}.ci_low": result.low, f"{name}.ci_high": result.high}
        )
        print(f"served {served} vs {baseline}: {result.difference:+.4f} ({result.low:+.4f} to {result.high:+.4f})")
    return {key: round(value, 4) for key, value in values.items()}


class OneDepartment(dict):
    """Facts of a single-department shop: every product has the same facts (Beauty, the preset's category path)."""

    def __init__(self, facts) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.facts = facts

    def get(self, key, default=None):  # type: ignore[no-untyped-def]
        return self.facts


def served_hits(sasrec: SASRecRecommender, split, popularity: np.ndarray, pool: int = 100) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Ranks of the test items in what the product serves (intent.score over the serving pool: the model's top
    `pool` and the department's popular items, model scores standardised as ranking.py does), history excluded;
    rank `pool * 2` where the target is not shown."""
    from django.conf import settings

    from recommend.sequential import intent

    facts = intent.ItemFacts(1, "Beauty", 1, "Beauty")
    config = intent.IntentConfig(**settings.RECOMMEND_INTENT)
    popular = [int(i) for i in np.argsort(-popularity[1:], kind="stable") + 1]
    histories, targets = split.test_histories(), split.test_target
    ranks = np.full(len(targets), 2 * pool)
    for start in range(0, len(targets), 256):
        batch = histories[start : start + 256]
        scores = sasrec.score(batch)
        body = scores[:, 1:]
        z = (scores - body.mean(axis=1, keepdims=True)) / np.maximum(body.std(axis=1, keepdims=True), 1e-12)
        for row, history in enumerate(batch):
            seen = set(history)
            order = [int(i) for i in np.argsort(-z[row, 1:], kind="stable")[: pool + len(seen)] + 1]
            candidates = [i for i in order if i not in seen][:pool]
            candidates += [i for i in popular[: pool + len(seen)] if i not in seen][:pool]
            evidence = intent.Evidence(
                OneDepartment(facts),
                {i: float(z[row, i]) for i in candidates},
                popular={1: popular[:pool]},
                known=range(1, len(popularity)),
            )
            served = [item.product_id for item in intent.ranked(intent.score(history, candidates, evidence, config))]
            target = int(targets[start + row])
            if target in served:
                ranks[start + row] = served.index(target)
    return ranks


def best_itemknn(n_items: int, split) -> tuple[ItemKNN, dict]:  # type: ignore[no-untyped-def]
    """The grid point with the best validation NDCG@10 (history excluded)."""
    best, best_params, best_ndcg = None, {}, -1.0
    for params in KNN_GRID:
        model = ItemKNN(n_items, **params).fit(split.train)
        _, ndcg = hit_ndcg(rank_all(model.score, split.valid_histories(), split.valid_target).ranks_excluded)
        print(f"itemknn {params}: valid NDCG@10 {ndcg:.4f}")
        if ndcg > best_ndcg:
            best, best_params, best_ndcg = model, params, ndcg
    return best, best_params  # type: ignore[return-value]


def train_sasrec(n_items: int, split, training_kwargs: dict) -> SASRecRecommender:  # type: ignore[no-untyped-def]
    training = TrainingConfig(**training_kwargs)
    recommender = SASRecRecommender(SASRecConfig(n_items=n_items, **MODEL), training)
    return recommender.fit(
        split.train,
        valid_histories=split.valid_histories(),
        valid_targets=split.valid_target,
        progress=lambda fraction, message: print(f"{time.strftime('%H:%M:%S')} {message}", flush=True),
    )


def standardised(scores: np.ndarray) -> np.ndarray:
    scores = np.where(np.isfinite(scores), scores, np.nan)
    mean, std = np.nanmean(scores, axis=1, keepdims=True), np.nanstd(scores, axis=1, keepdims=True) + 1e-9
    return np.nan_to_num((scores - mean) / std, nan=-1e9)


def best_blend(sasrec: SASRecRecommender, knn: ItemKNN, split):  # type: ignore[no-untyped-def]
    """SASRec and item-kNN scores standardised per user and mixed; the weight chosen on validation NDCG@10."""

    def blend_of(weight: float):  # type: ignore[no-untyped-def]
        return lambda histories: (
            weight * standardised(sasrec.score(histories)) + (1 - weight) * standardised(knn.score(histories))
        )

    best = (-1.0, 1.0)
    for weight in (0.5, 0.7, 0.85):
        _, ndcg = hit_ndcg(rank_all(blend_of(weight), split.valid_histories(), split.valid_target).ranks_excluded)
        print(f"blend sasrec weight {weight}: valid NDCG@10 {ndcg:.4f}")
        best = max(best, (ndcg, weight))
    return best[1], blend_of(best[1])


def quality(args: argparse.Namespace, training_kwargs: dict) -> dict[str, float | str]:
    items, titles, sequences = load_beauty(args.data / "amazon_beauty_5core")
    if args.quick:
        sequences = sequences[:2000]
    vocabulary = ItemVocabulary(ids=items)
    split = leave_one_out([vocabulary.encode(sequence) for sequence in sequences])
    popularity = item_popularity(split.train, vocabulary.size)
    groups = title_groups(vocabulary, titles)
    results: dict[str, float | str] = {"beauty.items": vocabulary.size, "beauty.users": len(split.train)}
    hits: dict[str, np.ndarray] = {}
    results.update(
        measure("popularity", Popularity(vocabulary.size).fit(split.train).score, split, popularity, groups, hits)
    )
    knn, knn_params = best_itemknn(vocabulary.size, split)
    results.update({f"beauty.itemknn.param.{key}": value for key, value in knn_params.items()})
    results.update(measure("itemknn", knn.score, split, popularity, groups, hits))
    model_path = args.workdir / "beauty_sasrec.pt"
    if args.reuse_model and model_path.exists():
        # Trained by an earlier run: its training time and epochs are that run's, so none are reported here.
        sasrec = SequentialArtifact.load(model_path).recommender
        results["beauty.sasrec.reused_model"] = f"{model_path} (trained by an earlier run; training not measured)"
    else:
        started = time.monotonic()
        sasrec = train_sasrec(vocabulary.size, split, training_kwargs)
        results["beauty.sasrec.train_seconds"] = round(time.monotonic() - started, 1)
        results.update(
            {"beauty.sasrec.epochs": sasrec.report.epochs, "beauty.sasrec.best_epoch": sasrec.report.best_epoch}
        )
        results[f"beauty.sasrec.stopped_by_{sasrec.report.stopped_by.replace(' ', '_')}"] = 1.0
        args.workdir.mkdir(parents=True, exist_ok=True)
        SequentialArtifact(sasrec, vocabulary, item_popularity(split.test_histories(), vocabulary.size)).save(
            model_path
        )
    results.update(measure("sasrec", sasrec.score, split, popularity, groups, hits))
    served = served_hits(sasrec, split, popularity)
    hits["served"] = hits_at_k(served, 10)
    results["beauty.served.hr_at_10"], results["beauty.served.ndcg_at_10"] = (round(v, 4) for v in hit_ndcg(served))
    print(
        f"served     test HR@10 {results['beauty.served.hr_at_10']:.4f} NDCG@10 {results['beauty.served.ndcg_at_10']}"
    )
    results.update(served_versus(hits, "served", ("sasrec", "popularity", "itemknn")))
    weight, blend = best_blend(sasrec, knn, split)
    results["beauty.sasrec_itemknn.sasrec_weight"] = weight
    results.update(measure("sasrec_itemknn", blend, split, popularity, groups))
    for method in METHODS:
        users = 100 if args.quick else 1000
        gap = deletion_gap(sasrec, split.test_histories(), method=method, users=users, seed=SEED)
        print(f"explain {method}: {gap}")
        results.update({f"explain.{method}.{key}": round(value, 4) for key, value in gap.items()})
    return results


LUA = """
local visitors = {%s}
request = function()
  local path = "/api/v1/recommendations/?limit=10&visitor=" .. visitors[math.random(#visitors)]
  return wrk.format("GET", path, {["Authorization"] = "Token %s"})
end
"""


def prepare_site(workdir: Path) -> tuple[list[str], str]:
    """A SQLite site with the Beauty catalog and events and the benchmark's SASRec as the active version."""
    from django.conf import settings
    from rest_framework.authtoken.models import Token

    from catalog.models import Interaction, Product
    from catalog.services import import_preset
    from recommend.core.jobs import automatic_jobs_suspended
    from recommend.core.registry import (
        active_version_id,
        model_version_activate,
        model_version_create,
        model_version_mark,
        model_version_save_artifact,
    )
    from recommend.models import ModelVersion

    if not Product.objects.exists():
        with automatic_jobs_suspended():
            import_preset(name="beauty", data_dir=settings.SHOP_DATA_DIR)
    if active_version_id(ModelVersion.Kind.SEQUENTIAL) is None:
        artifact = SequentialArtifact.load(workdir / "beauty_sasrec.pt")
        pk_of = dict(Product.objects.values_list("sku", "pk"))
        artifact.vocabulary = ItemVocabulary(ids=[pk_of[asin] for asin in artifact.vocabulary.ids])
        artifact.save(workdir / "sequential.pt")
        version = model_version_create(kind=ModelVersion.Kind.SEQUENTIAL, params={"source": "benchmark"})
        model_version_save_artifact(version=version, local_path=workdir / "sequential.pt")
        model_version_mark(version=version, status=ModelVersion.Status.READY, metrics={})
        model_version_activate(version=version)
    from django.contrib.auth import get_user_model

    staff, _ = get_user_model().objects.get_or_create(username="bench-staff", defaults={"is_staff": True})
    token, _ = Token.objects.get_or_create(user=staff)
    visitors = list(Interaction.objects.values_list("visitor_id", flat=True).distinct()[:5000])
    return visitors, token.key


def load_test(*, workdir: Path, seconds: int, workers: int = 3, connections: int = 4, port: int = 8767) -> dict:
    """p50/p99/rps of GET /api/v1/recommendations/ for random shoppers (staff token, visitor=)."""
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y wrk")
    visitors, token = prepare_site(workdir)
    with gunicorn_site(workdir, workers=workers, port=port):
        sample = random.Random(SEED).sample(visitors, min(len(visitors), 2000))
        # run_wrk warms every worker up (model load, caches) before the measured run.
        stats = run_wrk(LUA % (",".join(f'"{visitor}"' for visitor in sample), token), seconds, connections, port)
    values = {f"api.recommendations.{key}": value for key, value in stats.items()}
    values.update({"api.recommendations.gunicorn_workers": workers, "api.recommendations.connections": connections})
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api", action="store_true", help="Also load-test the recommendations endpoint.")
    parser.add_argument("--api-only", action="store_true", help="Only the load test (reuses --workdir's model).")
    parser.add_argument("--seconds", type=int, default=20, help="Load test duration.")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "recommendation-bench")
    parser.add_argument("--time-limit", type=float, default=None, help="SASRec training cap, seconds.")
    # One thread: on a shared 2-core machine two OpenMP threads spin against other processes (5x slower).
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reuse-model", action="store_true", help="Measure --workdir's SASRec instead of training.")
    parser.add_argument("--quick", action="store_true", help="2,000 shoppers, SASRec capped at 30 s (smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.time_limit = min(args.time_limit or 30.0, 30.0)
        args.seconds = min(args.seconds, 3)
        if args.workdir == parser.get_default("workdir"):  # never overwrite the full run's model
            args.workdir = Path(tempfile.gettempdir()) / "recommendation-bench-quick"
    if args.api or args.api_only:
        args.workdir.mkdir(parents=True, exist_ok=True)
        os.environ["VAR_DIR"] = str(args.workdir / "var")
        setup_django(args.workdir / "site.sqlite3", fresh=False)  # a throw-away site for the load test
    else:
        setup_django()  # settings only: the training configuration has one home (RECOMMEND_TRAINING)
    from django.conf import settings

    args.data = Path(settings.SHOP_DATA_DIR)
    training_kwargs = {**settings.RECOMMEND_TRAINING, "seed": SEED, "threads": args.threads}
    if args.time_limit:
        training_kwargs["time_limit_seconds"] = args.time_limit
    torch.manual_seed(SEED)
    results: dict[str, float | str] = {"seed": SEED, "split": "leave-one-out by time, full ranking"}
    if not args.api_only:
        results.update(quality(args, training_kwargs))
        results["explain.deletion_gap"] = results[f"explain.{settings.RECOMMEND_EXPLAIN_METHOD}.deletion_gap"]
        results["explain.method"] = settings.RECOMMEND_EXPLAIN_METHOD
    if args.api or args.api_only:
        results.update(load_test(workdir=args.workdir, seconds=args.seconds))
    title = "Recommendation: Amazon Beauty leave-one-out, full ranking (history excluded unless all_items)"
    write_results("recommendation", results, title, part="api" if args.api_only else None, quick=args.quick)


if __name__ == "__main__":
    main()
