"""Issue 22 item 1, the shared part: a version's evaluation against its baseline, the activation gate, the admin
page and `manage.py evaluate`."""

from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from recommend.core.evaluation import activate_if_beats_baseline, evaluation_store
from recommend.ml.common.comparison import compare, sentence
from recommend.models import ModelVersion

pytestmark = pytest.mark.django_db


def hits(rate, n=400, seed=0):
    return (np.random.default_rng(seed).random(n) < rate).astype(float)


def test_compare_picks_the_strongest_baseline_and_a_paired_interval():
    model = np.array([1, 1, 0, 1, 0, 1, 1, 0], dtype=float)
    weak, strong = np.zeros(8), np.array([1, 0, 0, 1, 0, 1, 0, 0], dtype=float)

    result = compare(
        metric="hit@10", model="blend", model_scores=model, baselines={"a": weak, "b": strong}, unit="baskets"
    )

    differences = model - strong
    half = 1.959964 * differences.std(ddof=1) / np.sqrt(8)
    assert result.baseline == "b" and result.difference == pytest.approx(differences.mean())
    assert (result.low, result.high) == pytest.approx((differences.mean() - half, differences.mean() + half))
    assert result.beats and result.baselines == {"a": 0.0, "b": 0.375}
    words = sentence({**result.as_dict(), "cases_label": "your last 8 baskets"})
    assert words.startswith("blend beats b by +25.0 hit@10 points on your last 8 baskets (62.5 vs 37.5; 95 % interval")


def version(kind=ModelVersion.Kind.SEQUENTIAL, number=1, status=ModelVersion.Status.READY):
    return ModelVersion.objects.create(kind=kind, version=number, status=status, metrics={"valid.hr_at_10": 0.04})


def test_a_version_worse_than_its_baseline_is_not_activated_by_itself_and_says_so():
    active = version(number=1, status=ModelVersion.Status.ACTIVE)
    worse = version(number=2)
    comparison = compare(
        metric="hit@10",
        model="SASRec",
        model_scores=hits(0.041),
        baselines={"popularity": hits(0.1, seed=1)},
        unit="visitors",
    )
    evaluation_store(version=worse, comparison=comparison, cases_label="your latest 400 visitors")

    assert activate_if_beats_baseline(version=worse) is False
    worse.refresh_from_db()
    active.refresh_from_db()
    assert worse.status == "ready" and active.status == "active"
    assert "does not beat popularity" in worse.metrics["not_activated_because"]
    assert worse.metrics["not_activated_because"].endswith("v1 keeps serving.")

    assert activate_if_beats_baseline(version=worse, force=True) is True  # staff may still insist
    worse.refresh_from_db()
    assert worse.status == "active"


def test_a_version_that_beats_its_baseline_is_activated_and_one_without_evaluation_is_not_gated():
    better = version(number=1)
    comparison = compare(
        metric="hit@10",
        model="SASRec",
        model_scores=hits(0.3),
        baselines={"popularity": hits(0.05, seed=2)},
        unit="visitors",
    )
    evaluation_store(version=better, comparison=comparison)
    assert activate_if_beats_baseline(version=better) is True
    assert activate_if_beats_baseline(version=version(kind=ModelVersion.Kind.SIMILAR, number=1)) is True


def test_the_admin_page_and_the_command_show_the_figure_against_the_baseline(admin_client):
    worse = version(kind=ModelVersion.Kind.BOUGHT_TOGETHER, number=3)
    comparison = compare(
        metric="hit@10",
        model="blend",
        model_scores=hits(0.08),
        baselines={"pair co-occurrence": hits(0.2, seed=3), "popularity": hits(0.05, seed=4)},
        unit="baskets",
    )
    evaluation_store(version=worse, comparison=comparison, cases_label="your last 400 baskets")
    activate_if_beats_baseline(version=worse, fallback="pair co-occurrence serves instead")

    page = admin_client.get(f"/admin/recommend/modelversion/{worse.pk}/change/").content.decode()
    assert "On your shop's own held-out data" in page
    assert "Blend does not beat pair co-occurrence by" in page and "on your last 400 baskets" in page
    assert "pair co-occurrence serves instead" in page and 'data-beats="no"' in page
    assert page.count("evaluation-chart") == 1 and "pair co-occurrence" in page and "(this version)" in page

    out = StringIO()
    call_command("evaluate", "bought_together", stdout=out)
    text = out.getvalue()
    assert "v3 [ready] blend does not beat pair co-occurrence" in text and "not activated:" in text
    out = StringIO()
    call_command("evaluate", stdout=out)
    assert "Sequential recommender (sequential)" in out.getvalue() and "no version trained yet" in out.getvalue()
