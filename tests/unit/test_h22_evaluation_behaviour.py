"""Issue 22 item 1 for the behaviour capabilities: a trained recommender version and a bought-together version
carry their evaluation against their baselines on the shop's latest data, and activate only when they beat them.

Small synthetic shops (seeded):
- sequences with no order in them over a few very popular products: popularity wins, the new version is kept;
- "intent" sequences (a shopper's first product decides what they buy after the checkout page, four steps
  later, beyond item-kNN's window): SASRec beats popularity and item-kNN and is activated;
- orders of independent products (a few very popular): the blend cannot beat popularity; the strongest baseline
  is served by a version of its own (nothing active would fall back to the same category in catalog order);
- orders whose partners changed (each product now bought with a new partner): the recency-weighted blend
  beats plain pair co-occurrence and is activated.
"""

from datetime import UTC, datetime, timedelta
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from catalog.models import Interaction
from recommend.bought_together.services import bought_together_build
from recommend.core.model_cache import clear_model_caches
from recommend.models import ModelVersion
from recommend.sequential.services import TrainingOptions, recommender_train
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

START = datetime(2025, 1, 1, tzinfo=UTC)
TRAINING = {"batch_size": 64, "negatives": 0, "patience": 100, "threads": 1}


def products(count, prefix="P"):
    category = CategoryFactory(name=f"Things {prefix}", slug=f"things-{prefix.lower()}")
    return [ProductFactory(sku=f"{prefix}{i:03d}", title=f"Thing {prefix}{i}", category=category) for i in range(count)]


def views(sequences, items):
    Interaction.objects.bulk_create(
        Interaction(
            visitor_id=f"v{visitor}",
            product=items[index],
            event=Interaction.Event.VIEW,
            timestamp=START + timedelta(minutes=step),
        )
        for visitor, sequence in enumerate(sequences)
        for step, index in enumerate(sequence)
    )


def zipf(count):
    weights = 1.0 / np.arange(1, count + 1) ** 1.2
    return weights / weights.sum()


def test_a_recommender_that_does_not_beat_popularity_is_kept_and_the_admin_says_so(settings, admin_client):
    # One short, slow epoch on sequences without order: what it learnt is worse than counting.
    settings.RECOMMEND_TRAINING = {**TRAINING, "epochs": 1, "evaluate_every": 1, "learning_rate": 1e-5}
    rng = np.random.default_rng(0)
    items = products(60)
    views([rng.choice(60, 6, replace=False, p=zipf(60)) for _ in range(200)], items)

    version = recommender_train(options=TrainingOptions())

    version.refresh_from_db()
    evaluation = version.metrics["evaluation"]
    # The gate's baseline is what would serve instead (popularity); item-kNN is measured beside it, not served.
    assert evaluation["baselines"].keys() == {"popularity"} and evaluation["cases"] == 200
    assert "test.itemknn.hr_at_10" in version.metrics
    assert evaluation["baseline"] == "popularity" and evaluation["beats"] is False
    assert version.status == ModelVersion.Status.READY
    because = version.metrics["not_activated_because"]
    assert "does not beat popularity" in because and "the baseline serves instead: popular products" in because
    page = admin_client.get(f"/admin/recommend/modelversion/{version.pk}/change/").content.decode()
    assert "SASRec does not beat popularity by" in page and "the latest events of 200 of your visitors" in page

    out = StringIO()
    call_command("evaluate", "sequential", stdout=out)
    assert f"v{version.version} [ready] SASRec does not beat popularity" in out.getvalue()


def intent_sequences(rng, visitors=200, intents=20, noise=20, blocks=4):
    """[intent c, three of the noise products, the checkout page, product c] repeated: indexes intents are
    0..19, targets 20..39, noise 40..59, checkout 60."""
    out = []
    for _ in range(visitors):
        sequence = []
        for _ in range(blocks):
            c = int(rng.integers(intents))
            sequence += [c, *(2 * intents + rng.choice(noise, 3, replace=False)), 2 * intents + noise, intents + c]
        out.append(sequence)
    return out


def test_a_recommender_that_beats_its_baselines_is_activated_and_evaluate_prints_it(settings):
    settings.RECOMMEND_TRAINING = {**TRAINING, "epochs": 40, "evaluate_every": 40, "learning_rate": 5e-3}
    items = products(61)
    views(intent_sequences(np.random.default_rng(1)), items)

    version = recommender_train(options=TrainingOptions())

    version.refresh_from_db()
    evaluation = version.metrics["evaluation"]
    assert evaluation["beats"] is True and evaluation["low"] > 0, evaluation
    assert evaluation["model_value"] > version.metrics["test.itemknn.hr_at_10"] + 0.2
    assert version.status == ModelVersion.Status.ACTIVE and "not_activated_because" not in version.metrics
    out = StringIO()
    call_command("evaluate", "sequential", stdout=out)
    assert f"v{version.version} [active] SASRec beats " in out.getvalue()
    assert "on the latest events of 200 of your visitors" in out.getvalue()


def orders(baskets, items, days):
    Interaction.objects.bulk_create(
        Interaction(
            visitor_id=f"shopper{number % 50}",
            product=items[index],
            event=Interaction.Event.PURCHASE,
            order_id=f"order{number}",
            timestamp=START + timedelta(days=float(day)),
        )
        for number, (basket, day) in enumerate(zip(baskets, days, strict=True))
        for index in basket
    )
    clear_model_caches()


def test_a_blend_that_does_not_beat_popularity_is_kept_and_the_baseline_serves(settings, admin_client, api_client):
    settings.BOUGHT_TOGETHER = {**settings.BOUGHT_TOGETHER, "epochs": 2, "half_life_days": None}
    rng = np.random.default_rng(2)
    items = products(40, "B")
    baskets = [rng.choice(40, 2, replace=False, p=zipf(40)) for _ in range(600)]
    orders(baskets, items, np.linspace(0, 300, 600))

    version = bought_together_build()

    version.refresh_from_db()
    evaluation = version.metrics["evaluation"]
    assert evaluation["baselines"].keys() == {"pair co-occurrence", "popularity"}
    assert evaluation["cases"] == 120 and evaluation["beats"] is False
    assert version.status == ModelVersion.Status.READY
    serving = ModelVersion.objects.get(kind=ModelVersion.Kind.BOUGHT_TOGETHER, status=ModelVersion.Status.ACTIVE)
    assert serving.params["serves_baseline"] == evaluation["baseline"] and "evaluation" not in serving.metrics
    because = version.metrics["not_activated_because"]
    assert f"does not beat {evaluation['baseline']}" in because
    assert because.endswith(f"the baseline serves instead: {evaluation['baseline']} alone, as v{serving.version}.")
    page = admin_client.get(f"/admin/recommend/modelversion/{version.pk}/change/").content.decode()
    assert "Blend does not beat" in page and "on your last 120 orders of two or more products" in page

    response = api_client.get(f"/api/v1/products/{items[5].pk}/bought-together/", {"limit": 4})
    assert response.status_code == 200 and response.json()["model_version"] == serving.pk
    # The baseline's answer: the best sellers (product 5 itself excluded), not the category in catalog order.
    popular_first = [item.pk for item in items[:5]]
    assert [result["id"] for result in response.json()["results"]][:2] == popular_first[:2]


def test_a_blend_that_beats_its_baselines_is_activated(settings):
    # 12 products, each bought with its own 12 old partners for 300 days, then with one new partner.
    settings.BOUGHT_TOGETHER = {**settings.BOUGHT_TOGETHER, "epochs": 2, "half_life_days": 30.0}
    rng = np.random.default_rng(3)
    items = products(12 + 12 + 60, "C")
    early = [[i, 24 + (5 * i + int(rng.integers(12))) % 60] for i in rng.integers(12, size=468)]
    late = [[i, 12 + i] for i in rng.integers(12, size=132)]
    orders(early + late, items, np.concatenate([np.linspace(0, 300, 468), np.linspace(300, 400, 132)]))

    version = bought_together_build()

    version.refresh_from_db()
    evaluation = version.metrics["evaluation"]
    assert evaluation["baselines"].keys() == {"pair co-occurrence", "popularity", "recency-weighted popularity"}
    assert evaluation["beats"] is True and evaluation["low"] > 0, evaluation
    assert version.status == ModelVersion.Status.ACTIVE
    assert version.metrics["weights"] == "validation" and version.metrics["blend.rules"] > 0
    out = StringIO()
    call_command("evaluate", "bought_together", stdout=out)
    assert f"v{version.version} [active] blend beats " in out.getvalue()


def evaluated(kind, number, *, model, baseline, status=ModelVersion.Status.READY, **metrics):
    from recommend.core.evaluation import evaluation_store
    from recommend.ml.common.comparison import compare

    version = ModelVersion.objects.create(kind=kind, version=number, status=status, metrics=metrics)
    scores = {name: (np.arange(100) < 100 * rate).astype(float) for name, rate in (("m", model), ("b", baseline))}
    comparison = compare(metric="hit@10", model="m", model_scores=scores["m"], baselines={"b": scores["b"]}, unit="x")
    evaluation_store(version=version, comparison=comparison)
    return version


@pytest.mark.parametrize("kind", [ModelVersion.Kind.SEQUENTIAL, ModelVersion.Kind.BOUGHT_TOGETHER])
def test_a_version_that_beats_its_baseline_but_not_the_active_version_is_kept_unless_forced(kind):
    from recommend.bought_together.services import bought_together_activate
    from recommend.sequential.services import recommender_activate

    activate = recommender_activate if kind == ModelVersion.Kind.SEQUENTIAL else bought_together_activate
    active = evaluated(
        kind, 1, model=0.5, baseline=0.1, status=ModelVersion.Status.ACTIVE, **{"valid.sasrec.ndcg_at_10": 0.4}
    )
    newer = evaluated(kind, 2, model=0.3, baseline=0.1, **{"valid.sasrec.ndcg_at_10": 0.2})

    assert activate(version=newer) is False
    newer.refresh_from_db()
    assert newer.status == "ready" and newer.metrics["not_activated_because"].endswith("v1 keeps serving.")
    assert activate(version=newer, force=True) is True
    active.refresh_from_db()
    assert active.status == "retired"
