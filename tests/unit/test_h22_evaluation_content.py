"""Issue 22 item 1, the content capabilities: every classifier, duplicate matcher, similar-items and taxonomy build
carries its evaluation against its simplest baseline on the shop's own held-out data, and the gate holds back a
classifier that loses to TF-IDF. Small synthetic catalogs and the fake encoders of tests/fakes.py."""

# ruff: noqa: F811  (fixtures imported from other test modules are parameters here)
import random
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from recommend.classification import evaluation
from recommend.classification.training import classifier_train, training_examples
from recommend.core import vectors
from recommend.duplicates.training import duplicate_matcher_train
from recommend.ml.classification import comparison
from recommend.ml.classification.comparison import tfidf_paths as real_tfidf_paths
from recommend.ml.common.grouping import grouped_split, normalised_title
from recommend.models import ModelVersion
from recommend.similarity.services import similarity_build
from tests.factories import CategoryFactory, InteractionFactory, ProductFactory
from tests.fakes import bag_of_words
from tests.hierarchy_helpers import built, catalog  # noqa: F401  (fixtures)
from tests.unit.test_classification import _tiny_models, catalog_tree, train_once  # noqa: F401  (fixtures)
from tests.unit.test_duplicate_scorer_training import labelled_rows

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fake_encoder(monkeypatch):
    monkeypatch.setattr(vectors, "encode_texts", lambda texts, progress=None: bag_of_words(texts, progress))


# --- classification -----------------------------------------------------------------------


def test_normalised_titles_and_the_grouped_split_keep_near_copies_on_one_side():
    assert (
        normalised_title("  Nike Air-Max 90 (BLACK)!")
        == "nike air max 90 black"
        == normalised_title("nike air max 90 black")
    )
    assert normalised_title("Pack of 2") != normalised_title("Pack of 3")  # digits are kept
    rng = random.Random(3)
    titles = [f"Shirt {rng.randrange(60)} Blue" for _ in range(400)]
    titles += [title.upper().replace(" ", " - ") for title in titles[:100]]  # near-copies
    train, heldout = grouped_split(titles)
    assert heldout and train
    assert not {normalised_title(titles[i]) for i in train} & {normalised_title(titles[i]) for i in heldout}


def test_the_product_split_never_puts_one_normalised_title_on_both_sides(catalog_tree):
    leaf = catalog_tree[("Electronics", "Phones")]
    for product in list(leaf.products.all()):
        for copy in (product.title.upper(), f"{product.title.replace(' ', ', ')}!"):
            ProductFactory(title=copy, brand=None, category=leaf, category_source="imported")
    rows = evaluation.labelled_rows()
    titles = {pk: title for pk, _, title in rows}
    held_out = {normalised_title(titles[pk]) for pk in evaluation.evaluation_set(rows).ids}
    trained_on = {normalised_title(titles[pk]) for pk in training_examples(rows=rows)[0]}
    assert held_out and trained_on and not held_out & trained_on
    assert len(trained_on) + len(held_out) == len({normalised_title(title) for title in titles.values()})


def test_a_classifier_version_carries_its_comparison_with_the_tfidf_baseline(catalog_tree):
    result = classifier_train()

    version = ModelVersion.objects.get(pk=result["version_id"])
    stored = version.metrics["evaluation"]
    assert stored["metric"] == "full-path accuracy" and stored["unit"] == "products"
    assert stored["baseline"] == "TF-IDF + linear SVM" and stored["cases"] == version.params["heldout_size"]
    assert stored["cases_label"] == f"{stored['cases']} of your products, grouped by title"
    assert "heldout.path_accuracy" in version.metrics and "heldout.baseline.path_accuracy" in version.metrics
    assert "normalised title" in version.params["evaluation"]["rule"]
    assert result["activated"] and version.status == "active"  # beats the (stubbed, weak) baseline


def test_a_classifier_that_loses_to_tfidf_is_not_activated_and_the_admin_page_and_command_say_so(
    catalog_tree, monkeypatch, admin_client
):
    from recommend.ml import classification as ml

    def train_a_worse_model(*args, **kwargs):
        model = train_once(*args, **kwargs)
        model.predict_paths = lambda texts, **_: [model.labels.paths[0]] * len(texts)  # always the same answer
        return model

    monkeypatch.setattr(ml, "train_classifier", train_a_worse_model)
    monkeypatch.setattr(comparison, "tfidf_paths", real_tfidf_paths)  # the real baseline, on these easy titles

    result = classifier_train()

    version = ModelVersion.objects.get(pk=result["version_id"])
    assert result["activated"] is False and version.metrics["activated"] is False and version.status == "ready"
    assert version.metrics["evaluation"]["baseline_value"] > version.metrics["evaluation"]["model_value"]
    assert "does not beat the TF-IDF + linear SVM" in version.metrics["activation_reason"]
    page = admin_client.get(reverse("admin:recommend_modelversion_change", args=[version.pk])).content.decode()
    assert "BiGRU classifier does not beat TF-IDF + linear SVM by" in page and "grouped by title" in page
    assert "Not activated by itself" in page and 'data-beats="no"' in page

    out = StringIO()
    call_command("evaluate", "classifier", stdout=out)
    text = out.getvalue()
    assert f"v{version.version} [ready] BiGRU classifier does not beat TF-IDF + linear SVM by" in text
    assert "of your products, grouped by title" in text and "not activated:" in text


# --- duplicates ---------------------------------------------------------------------------


def test_a_trained_duplicate_matcher_carries_its_comparison_with_embedding_cosine():
    rows = labelled_rows()
    pairs = [(row["left"], row["right"], row["label"]) for row in rows]

    version = duplicate_matcher_train(pairs=pairs, method="features", source="file")

    stored = version.metrics["evaluation"]
    assert stored["baseline"] == "embedding cosine" and stored["metric"] == "pair accuracy"
    assert stored["unit"] == "pairs" and stored["cases"] == version.metrics["test_pairs"]
    assert "cosine_threshold" in version.metrics and "cosine_test_f1" in version.metrics
    assert version.metrics["activated"] is (version.status == ModelVersion.Status.ACTIVE)
    assert version.status == ModelVersion.Status.ACTIVE or "not_activated_because" in version.metrics


# --- similar items ------------------------------------------------------------------------


@pytest.fixture
def browsed_catalog(tree, settings):
    """Dresses that read alike, and shoppers who go from the floral dress to a radio (another category)."""
    settings.SIMILAR_TOP_K = 3
    dresses = [
        ProductFactory(title=f"Summer floral dress {colour}", category=tree["women"])
        for colour in ("red", "blue", "green", "white", "black")
    ]
    radio = ProductFactory(title="Portable radio receiver", category=tree["electronics"])
    shirt = ProductFactory(title="Cotton shirt", category=tree["shirts"])
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for visitor in range(30):
        for step, product in enumerate([shirt, dresses[0], radio, dresses[0], radio]):
            InteractionFactory(visitor_id=f"v{visitor}", product=product, timestamp=start + timedelta(minutes=step))
    return dresses, radio


def test_a_similar_items_build_carries_the_hybrid_against_content_only(browsed_catalog):
    version = similarity_build(progress=lambda fraction, message: None)

    stored = version.metrics["evaluation"]
    assert stored["metric"] == "hit@3" and stored["unit"] == "visitors" and stored["cases"] == 30
    assert stored["model"] == "hybrid (content + behaviour)" and stored["baseline"] == "content-only cosine"
    assert stored["model_value"] == 1.0 and stored["baseline_value"] == 0.0 and stored["beats"]
    assert version.status == ModelVersion.Status.ACTIVE


def test_a_similar_items_build_without_enough_held_out_visits_is_not_gated(tree):
    for title in ("Red shirt", "Blue shirt", "Radio"):
        ProductFactory(title=title, category=tree["shirts"])

    version = similarity_build(progress=lambda fraction, message: None)

    assert "evaluation" not in version.metrics and version.status == ModelVersion.Status.ACTIVE


# --- taxonomy proposals -------------------------------------------------------------------


def test_a_taxonomy_proposal_carries_its_top_level_against_kmeans(built, admin_client):
    version = ModelVersion.objects.get(pk=built.stats["model_version"])
    stored = version.metrics["evaluation"]
    assert stored["metric"] == "top-level purity" and stored["baseline"] == "k-means on TF-IDF"
    assert stored["unit"] == "products" and stored["cases"] == 48
    assert "top_level_nmi" in version.metrics and "top_level_nmi_kmeans" in version.metrics
    assert built.stats["evaluation"].startswith("proposed tree")
    assert version.status == ModelVersion.Status.READY  # staff apply proposals: no gate

    page = admin_client.get(reverse("admin:recommend_taxonomyproposal_review", args=[built.pk])).content.decode()
    assert "Against your live tree: proposed tree" in page and "k-means on TF-IDF" in page
    assert "of your products, against their live categories" in page


def test_live_labels_are_one_level_below_the_scope(tree):
    from recommend.hierarchy.evaluation import live_labels

    extra = CategoryFactory(name="Jackets", slug="jackets", parent=tree["men"])
    ids = [tree["shirts"].pk, tree["women"].pk, tree["electronics"].pk, extra.pk, None]
    assert live_labels(ids, None) == [tree["clothing"].pk, tree["clothing"].pk, tree["electronics"].pk,
                                      tree["clothing"].pk, None]  # fmt: skip
    tree["clothing"].refresh_from_db()
    assert live_labels(ids[:2], tree["clothing"]) == [tree["men"].pk, tree["women"].pk]
