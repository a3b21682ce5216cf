"""Mixed-catalog recommendation, as the demo has it: several sources in one item space, served by the product.

A throw-away SQLite site gets the demo's imports (benchmarks/common.setup_django; `catalog.services.import_preset`):
Amazon Beauty products and purchases, the Groceries baskets, and Flipkart and Fashion products with no behaviour
(cold). The recommender is trained as the demo trains it (`recommender_train(TrainingOptions(demo=True))`, forced
active so it serves; the gate's verdict is reported).
Its training part is each visitor's sequence less the last two items (leave-one-out by time, repeats in a row
collapsed, as `training_sequences` reads it): those two events are then deleted from the site, so what serving
reads (histories, popular products, the similar-items build made afterwards) is what the model trained on.

Validation: each visitor's second-to-last item is the target (the intent grid `valid.grid.*` is scored here only);
test: the validation events are put back, the latest item is the target. Per sampled visitor, three top-10 lists
from one history and one exclusion set (`request_state`): `served` (`recommendations_for`, the product's path),
`sasrec` (the same model's raw order) and `popularity` (what the site holds). Reported: hit@10 and NDCG@10 overall
and per department of the target, `in_department_share_at_10` (share of the top 10 in the department of the latest
history item), served minus each baseline in hit@10 with a paired 95 % interval (`common.comparison.compare`),
`explain.faithful_share` (shown reasons naming a history item that pass faithfulness.py's rebuilt-from-scratch
check), `mixed.cold_views.*` (after two views of cold products, the top 10's share in their department).
Run: nice -n 10 .venv/bin/python benchmarks/recommendation_mixed.py [--quick] [--workdir DIR [--reuse-site]]
Writes benchmarks/results/recommendation_mixed{,.quick}.{json,md}.
"""

import argparse
import itertools
import os
import pickle
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from common import ROOT, setup_django, write_results

sys.path.insert(0, str(ROOT))

SEED = 42
# Rows per preset: the demo's own slice (setup_demo.QUICK_LIMITS) for the full run, smaller cold sources for --quick.
FULL_LIMITS = {"flipkart": None, "beauty": None, "groceries": None, "fashion": 5000}
QUICK_LIMITS = {"flipkart": 2000, "beauty": None, "groceries": None, "fashion": 2000}
GRID = {
    "untouched_margin": (1.0, 2.0, 3.0, 5.0),
    "category_weight": (0.0, 0.5, 1.0),
    "content_scale": (2.5, 5.0),
    "popular_score": (0.5, 1.0),
}
TARGET_SHARE = 0.8  # the in-department share target: a grid point below it is not chosen


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def build_site(limits: dict, data_dir: Path) -> dict:
    """Import the sources, train the recommender as the demo does; {key: value} of what was built."""
    from catalog.models import Interaction, Product
    from catalog.services import import_preset
    from recommend.core.evaluation import beats_baseline
    from recommend.core.jobs import automatic_jobs_suspended
    from recommend.sequential.services import TrainingOptions, recommender_train

    values: dict = {}
    with automatic_jobs_suspended():
        for name, limit in limits.items():
            started = time.monotonic()
            for report in import_preset(name=name, data_dir=data_dir, limit=limit):
                log(report.summary())
            values[f"mixed.import.{name}.seconds"] = round(time.monotonic() - started, 1)
    values["mixed.products"] = Product.objects.count()
    values["mixed.interactions"] = Interaction.objects.count()
    started = time.monotonic()
    version = recommender_train(options=TrainingOptions(demo=True, force=True), progress=lambda f, m: log(m))
    values["mixed.training.seconds"] = round(time.monotonic() - started, 1)
    for key in ("valid.sasrec.ndcg_at_10", "valid.popularity.ndcg_at_10", "test.sasrec.hr_at_10", "epochs"):
        values[f"mixed.training.{key}"] = version.metrics.get(key)
    values["mixed.training.gate_beats_popularity"] = str(beats_baseline(version))
    return values


def hold_out() -> tuple[dict[str, tuple[int, int]], list]:
    """Delete every trained visitor's last two sequence positions; (visitor -> (valid, test) product, valid rows)."""
    from catalog.models import Interaction
    from recommend.core.selectors import SEQUENCE_EVENTS

    rows = (
        Interaction.objects.filter(event__in=list(SEQUENCE_EVENTS), product__isnull=False)
        .order_by("visitor_id", "timestamp", "pk")
        .values_list("pk", "visitor_id", "product_id")
    )
    sequences: dict[str, list[tuple[int, list[int]]]] = defaultdict(list)  # visitor -> [(product, [pks])]
    for pk, visitor, product in rows.iterator(chunk_size=20000):
        sequence = sequences[visitor]
        if sequence and sequence[-1][0] == product:
            sequence[-1][1].append(pk)
        else:
            sequence.append((product, [pk]))
    targets, valid_pks, test_pks = {}, [], []
    for visitor, sequence in sequences.items():
        if len(sequence) >= 3:  # training_sequences' rule: the model trained on sequence[:-2]
            targets[visitor] = (sequence[-2][0], sequence[-1][0])
            valid_pks += sequence[-2][1]
            test_pks += sequence[-1][1]
    valid_rows = []
    for start in range(0, len(valid_pks), 5000):
        valid_rows += list(Interaction.objects.filter(pk__in=valid_pks[start : start + 5000]))
    for pks in (valid_pks, test_pks):
        for start in range(0, len(pks), 5000):
            Interaction.objects.filter(pk__in=pks[start : start + 5000]).delete()
    return targets, valid_rows


def sample_visitors(targets: dict, per_department: int, department_of: dict) -> list[str]:
    """Up to `per_department` visitors per department of their test item, fixed seed."""
    by_department: dict[str, list[str]] = defaultdict(list)
    for visitor in sorted(targets):
        by_department[department_of.get(targets[visitor][1], "")].append(visitor)
    rng = random.Random(SEED)
    return [
        v
        for d in sorted(by_department)
        for v in rng.sample(by_department[d], min(per_department, len(by_department[d])))
    ]


def top_lists(events, exclude, artifact, popular: list[int], k: int = 10) -> dict[str, list[int]]:  # type: ignore[no-untyped-def]
    """Raw SASRec and popularity top-k for the same history and exclusions as serving."""
    history = [event.product_id for event in events]
    encoded = artifact.vocabulary.encode(history)[-artifact.recommender.model_config.max_length :]
    scores = artifact.recommender.score([encoded or [0]])[0].astype(np.float64)
    scores[0] = -np.inf
    banned = [artifact.vocabulary.index_of[pk] for pk in exclude if pk in artifact.vocabulary.index_of]
    scores[banned] = -np.inf
    order = np.argsort(-scores, kind="stable")[:k]
    sasrec = list(artifact.vocabulary.decode(int(index) for index in order))
    return {"sasrec": sasrec, "popularity": [pk for pk in popular if pk not in exclude][:k]}


def ranked_metrics(ids: list[int], target: int, departments: dict, leading: str) -> tuple[float, float, float]:
    """(hit@10, NDCG@10, in-department share@10) of one top-10 list."""
    ids = ids[:10]
    rank = ids.index(target) if target in ids else None
    hit, ndcg = (1.0, 1.0 / np.log2(rank + 2.0)) if rank is not None else (0.0, 0.0)
    share = sum(departments.get(pk, "") == leading for pk in ids) / max(len(ids), 1)
    return hit, ndcg, share


def popular_order() -> list[int]:
    from catalog.models import Interaction
    from recommend.core.selectors import SEQUENCE_EVENTS

    counts = Counter(
        Interaction.objects.filter(event__in=list(SEQUENCE_EVENTS), product__isnull=False).values_list(
            "product_id", flat=True
        )
    )
    return [pk for pk, _ in sorted(counts.items(), key=lambda row: (-row[1], row[0]))]


def grid_configs() -> list:
    from recommend.sequential.ranking import intent_config

    base = intent_config()
    keys = list(GRID)
    return [
        base.__class__(**{**base.__dict__, **dict(zip(keys, values, strict=True))})
        for values in itertools.product(*GRID.values())
    ]


def grid_label(config) -> str:  # type: ignore[no-untyped-def]
    return ",".join(f"{key}={getattr(config, key):g}" for key in GRID)


def evaluate(stage: str, visitors: list[str], targets: dict, department_of: dict, grid: bool, faithful: int) -> dict:
    """One stage's per-visitor lists and their metrics (`stage` is "valid" or "test")."""
    from django.core.cache import cache

    from recommend.sequential import faithfulness
    from recommend.sequential.artifact import active_artifact
    from recommend.sequential.selectors import intent_ranker, recommendations_for, request_state

    cache.clear()  # popular products and neighbour lists as the site now holds them
    _, artifact = active_artifact()
    popular = popular_order()
    configs = grid_configs() if grid else []
    per: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))  # list -> metric -> values
    by_department: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    grid_rows: dict[str, list] = defaultdict(list)
    faith = Counter()
    started = time.monotonic()
    for number, visitor in enumerate(visitors):
        target = targets[visitor][0 if stage == "valid" else 1]
        events, _, exclude = request_state([visitor])
        if not events:
            continue
        lists = top_lists(events, exclude, artifact, popular)
        if stage == "test":
            results = recommendations_for(visitor_ids=[visitor], limit=10)["results"]
            lists["served"] = [result["id"] for result in results]
            if number < faithful:
                for row in faithfulness.reasons_checked(visitor_ids=[visitor], results=results):
                    faith["reasons"] += 1
                    if row["passed"] is not None:
                        faith["naming_history"] += 1
                        faith["passed"] += int(row["passed"])
        else:
            ranker = intent_ranker(events=events, exclude=exclude, artifact=artifact)
            lists["served"] = [item.product_id for item in ranker.order[:10]]
            for config in configs:
                ids = [item.product_id for item in ranker.ranked_with(config)[:10]]
                grid_rows[grid_label(config)].append(ids)
        leading = department_of.get(events[-1].product_id, "")
        department = department_of.get(target, "")
        for name, ids in lists.items():
            hit, ndcg, share = ranked_metrics(ids, target, department_of, leading)
            for key, value in (("hit", hit), ("ndcg", ndcg), ("share", share)):
                per[name][key].append(value)
                by_department[f"{department}.{name}"][key].append(value)
        for label in grid_rows:
            per[f"grid:{label}"]["target"].append(target)
            per[f"grid:{label}"]["leading"].append(leading)
        if number % 100 == 99:
            log(f"{stage}: {number + 1}/{len(visitors)} visitors, {time.monotonic() - started:.0f} s")
    return {"per": per, "by_department": by_department, "grid": grid_rows, "faith": faith}


def summarise(stage: str, measured: dict, department_of: dict) -> dict:
    from recommend.ml.common.comparison import compare

    prefix = "mixed" if stage == "test" else "valid.mixed"
    values: dict = {}
    per = measured["per"]
    for name in ("served", "sasrec", "popularity"):
        values[f"{prefix}.{name}.hr_at_10"] = float(np.mean(per[name]["hit"]))
        values[f"{prefix}.{name}.ndcg_at_10"] = float(np.mean(per[name]["ndcg"]))
        values[f"{prefix}.{name}.in_department_share_at_10"] = float(np.mean(per[name]["share"]))
        hr, ndcg = values[f"{prefix}.{name}.hr_at_10"], values[f"{prefix}.{name}.ndcg_at_10"]
        share = values[f"{prefix}.{name}.in_department_share_at_10"]
        log(f"{prefix} {name:10} HR@10 {hr:.4f} NDCG@10 {ndcg:.4f} in-department {share:.3f}")
    values[f"{prefix}.visitors"] = len(per["served"]["hit"])
    values[f"{prefix}.in_department_share_at_10"] = values[f"{prefix}.served.in_department_share_at_10"]
    for baseline in ("sasrec", "popularity"):
        result = compare(
            metric="hit@10",
            model="served",
            model_scores=np.array(per["served"]["hit"]),
            baselines={baseline: np.array(per[baseline]["hit"])},
            unit="visitors",
        )
        key = f"{prefix}.served_vs_{baseline}"
        values.update(
            {f"{key}.difference": result.difference, f"{key}.ci_low": result.low, f"{key}.ci_high": result.high}
        )
    for group, metrics in measured["by_department"].items():
        department, name = group.rsplit(".", 1)
        slug = department.casefold().replace(" ", "_") or "none"
        values[f"{prefix}.{slug}.{name}.hr_at_10"] = float(np.mean(metrics["hit"]))
        values[f"{prefix}.{slug}.{name}.ndcg_at_10"] = float(np.mean(metrics["ndcg"]))
        values[f"{prefix}.{slug}.visitors"] = len(metrics["hit"])
    return {key: round(value, 4) if isinstance(value, float) else value for key, value in values.items()}


def choose(measured: dict, department_of: dict) -> dict:
    """Validation grid: the best NDCG@10 among points whose in-department share is at least TARGET_SHARE (on a tie,
    the configured defaults)."""
    from recommend.sequential.ranking import intent_config

    values: dict = {}
    default, best = grid_label(intent_config()), None
    for label in sorted(measured["grid"], key=lambda label: label != default):
        per = measured["per"][f"grid:{label}"]
        rows = zip(measured["grid"][label], per["target"], per["leading"], strict=True)
        hr, ndcg, share = np.mean([ranked_metrics(ids, t, department_of, lead) for ids, t, lead in rows], axis=0)
        for key, value in (("hr_at_10", hr), ("ndcg_at_10", ndcg), ("in_department_share_at_10", share)):
            values[f"valid.grid.{label}.{key}"] = round(float(value), 4)
        if share >= TARGET_SHARE and (best is None or (ndcg, hr) > best[0]):
            best = ((ndcg, hr), label)
    values["valid.grid.chosen"] = best[1] if best else "none reaches the in-department target"
    log(f"validation grid choice: {values['valid.grid.chosen']} (defaults: {default})")
    return values


def cold_views(visitors: list[str], department_of: dict, count: int) -> dict:
    """After two views of products without behaviour, one department: the share of the top 10 in it."""
    from django.utils import timezone

    from catalog.models import Interaction, Product
    from recommend.core.selectors import VisitorEvent
    from recommend.sequential.artifact import active_artifact
    from recommend.sequential.selectors import intent_ranker, request_state

    _, artifact = active_artifact()
    behaviour = set(Interaction.objects.values_list("product_id", flat=True).distinct())
    cold: dict[str, list[int]] = defaultdict(list)
    for pk in Product.objects.filter(source__in=["flipkart", "fashion"]).values_list("pk", flat=True):
        if pk not in behaviour and department_of.get(pk):
            cold[department_of[pk]].append(pk)
    rng = random.Random(SEED)
    departments = sorted(d for d in cold if len(cold[d]) >= 2)
    shares = []
    for visitor in visitors[:count]:
        events, _, exclude = request_state([visitor])
        first, second = rng.sample(cold[rng.choice(departments)], 2)
        now = timezone.now()
        events = [*events, VisitorEvent(first, "view", now), VisitorEvent(second, "view", now)]
        ranker = intent_ranker(events=events, exclude=exclude | {first, second}, artifact=artifact)
        ids = [item.product_id for item in ranker.order[:10]]
        shares.append(sum(department_of.get(pk) == department_of[second] for pk in ids) / max(len(ids), 1))
    return {
        "mixed.cold_views.visitors": len(shares),
        "mixed.cold_views.in_department_share_at_10": round(float(np.mean(shares)), 4),
    }


def departments() -> dict[int, str]:
    from catalog.models import Product
    from recommend.sequential.ranking import item_facts

    ids = list(Product.objects.values_list("pk", flat=True))
    chunks = (item_facts(ids[start : start + 5000]) for start in range(0, len(ids), 5000))
    return {pk: facts.department_name for chunk in chunks for pk, facts in chunk.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller cold sources, 150 visitors per department")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--visitors", type=int, default=None, help="visitors per department (default 1000; quick 150)")
    parser.add_argument("--faithful", type=int, default=None, help="visitors whose reasons are checked (300; quick 60)")
    parser.add_argument("--reuse-site", action="store_true", help="Evaluate --workdir's site built by an earlier run.")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="recommendation-mixed-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["VAR_DIR"] = str(workdir / "var")
    os.environ["REDIS_URL"] = ""  # a process-local cache: nothing shared with other sites
    reuse = args.reuse_site and (workdir / "holdout.pkl").exists()
    setup_django(workdir / "site.sqlite3", fresh=not reuse)
    import torch
    from django.conf import settings

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    limits = QUICK_LIMITS if args.quick else FULL_LIMITS
    per_department = args.visitors or (150 if args.quick else 1000)
    faithful = args.faithful or (60 if args.quick else 300)
    results: dict = {"seed": SEED, "mixed.limits": str(limits), "mixed.visitors_per_department": per_department}
    results["mixed.intent"] = str(settings.RECOMMEND_INTENT)
    results["mixed.reason_thresholds"] = (
        f"drop {settings.RECOMMEND_REASON_MIN_DROP}, rank {settings.RECOMMEND_REASON_MIN_RANK_DROP}"
    )
    from catalog.models import Interaction
    from recommend.core.jobs import automatic_jobs_suspended
    from recommend.similarity.services import similarity_build

    with automatic_jobs_suspended():
        if reuse:  # the site an earlier run built (import, training, hold-out, similar items): not this run's
            built, targets, valid_rows = pickle.loads((workdir / "holdout.pkl").read_bytes())
            Interaction.objects.filter(pk__in=[row.pk for row in valid_rows]).delete()
            results.update(built)
            results["mixed.reused_site"] = f"{workdir} (built by an earlier run; build times are that run's)"
        else:
            built = build_site(limits, Path(settings.SHOP_DATA_DIR))
            targets, valid_rows = hold_out()
            started = time.monotonic()
            # After the hold-out: its co-occurrence lists never saw a target.
            similarity_build(progress=lambda f, m: log(f"similar items: {m}"))
            built["mixed.similarity.seconds"] = round(time.monotonic() - started, 1)
            (workdir / "holdout.pkl").write_bytes(pickle.dumps((built, targets, valid_rows)))
            results.update(built)
        department_of = departments()
        visitors = sample_visitors(targets, per_department, department_of)
        log(f"{len(targets)} visitors held out, {len(visitors)} sampled")
        valid = evaluate("valid", visitors, targets, department_of, grid=True, faithful=0)
        results.update(summarise("valid", valid, department_of))
        results.update(choose(valid, department_of))
        Interaction.objects.bulk_create(valid_rows, batch_size=2000)  # the validation events become history
        test = evaluate("test", visitors, targets, department_of, grid=False, faithful=faithful)
        results.update(summarise("test", test, department_of))
        faith = test["faith"]
        results.update({f"explain.faithful.{key}": value for key, value in faith.items()})
        results["explain.faithful_share"] = (
            round(faith["passed"] / faith["naming_history"], 4) if faith["naming_history"] else 1.0
        )
        beauty = [v for v in visitors if department_of.get(targets[v][1]) == "Beauty"]
        results.update(cold_views(beauty, department_of, 50 if args.quick else 200))
    cold = results["mixed.cold_views.in_department_share_at_10"]
    log(f"faithful share {results['explain.faithful_share']}, cold views {cold}")
    title = (
        "Recommendation on a mixed catalog (the demo's sources in one item space): served vs raw SASRec vs popularity"
    )
    write_results("recommendation_mixed", results, title, quick=args.quick)


if __name__ == "__main__":
    main()
