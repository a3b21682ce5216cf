"""Classification in the product: training versions, auto-classification, the review queue, the API, tree changes."""

import copy
import random

import pytest
from django.urls import reverse

from catalog.importers import ProductMapping
from catalog.models import Product
from catalog.services import import_file
from recommend.classification import training
from recommend.classification.selectors import forget_loaded_classifiers, predict_categories
from recommend.classification.services import products_classify
from recommend.classification.training import classifier_train
from recommend.core.jobs import job_create, job_run
from recommend.models import CategorySuggestion, Job, ModelVersion
from taxonomy.services import category_move
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

# Each leaf has its own words, so a tiny model separates them in a second.
LEAVES = {
    ("Clothing", "Men", "Shirts"): ["shirt", "oxford", "collar"],
    ("Clothing", "Women", "Dresses"): ["dress", "gown", "frock"],
    ("Electronics", "Phones"): ["phone", "smartphone", "android"],
    ("Electronics", "Laptops"): ["laptop", "notebook", "ultrabook"],
    ("Home", "Kitchen"): ["skillet", "saucepan", "cookware"],
}
FILLER = ["blue", "red", "classic", "acme", "nova", "black", "cotton", "premium"]


def tiny_config(*, demo=False, epochs=None, overrides=None):
    from recommend.ml.classification import ClassifierConfig

    return ClassifierConfig(
        embedding_dim=16, hidden_dim=16, attention_dim=8, bag_dim=16, buckets=2**12, epochs=epochs or 10,
        batch_size=16, lr=1e-2, sparse_lr=5e-2, dropout=0.1, min_word_count=1, validation_fraction=0.0,
        num_threads=1, logit_adjust_grid=(0.0,),
    )  # fmt: skip


def title_for(path, rng):
    words = rng.sample(FILLER, 2) + rng.sample(LEAVES[path], 2)
    rng.shuffle(words)
    return " ".join(words).title()


TRAINED_MODELS: dict = {}
REAL_TRAIN = None


def train_once(texts, paths, config, progress=None, validation=None, device="cpu"):
    """Training is deterministic: the same catalog in another test gets a copy of the same model."""
    from recommend.ml import classification as ml

    key = (tuple(texts), tuple(paths), repr(config), device)
    if key not in TRAINED_MODELS:
        TRAINED_MODELS[key] = REAL_TRAIN(texts, paths, config, progress, validation, device)
    return copy.deepcopy(TRAINED_MODELS[key]) if isinstance(TRAINED_MODELS[key], ml.TrainedClassifier) else None


def most_common_path(train_texts, train_paths, test_texts, depth):
    """A baseline these tests' tiny model beats: the most common training path for every product (on these easy
    titles the real TF-IDF baseline is as perfect as the model, a tie; the gate itself is tested with the real
    baseline in test_h22_evaluation_content.py)."""
    top = max(sorted(set(map(tuple, train_paths))), key=list(map(tuple, train_paths)).count)
    return [top] * len(test_texts)


@pytest.fixture(autouse=True)
def _tiny_models(monkeypatch, settings):
    from recommend.ml import classification as ml
    from recommend.ml.classification import comparison

    global REAL_TRAIN
    REAL_TRAIN = REAL_TRAIN or ml.train_classifier
    monkeypatch.setattr(ml, "train_classifier", train_once)
    monkeypatch.setattr(comparison, "tfidf_paths", most_common_path)
    monkeypatch.setattr(training, "classifier_config", tiny_config)
    # Low enough for a tiny model trained in a second to be sure of easy titles.
    settings.CLASSIFIER_CONFIDENCE_THRESHOLD = 0.3
    forget_loaded_classifiers()
    yield
    forget_loaded_classifiers()


@pytest.fixture
def catalog_tree(db):
    """The five leaves above, with 16 imported products each; returns {leaf path: Category}."""
    nodes = {}
    for path in LEAVES:
        parent = None
        for depth in range(1, len(path) + 1):
            prefix = path[:depth]
            if prefix not in nodes:
                nodes[prefix] = CategoryFactory(name=prefix[-1], slug=prefix[-1].lower(), parent=parent)
            parent = nodes[prefix]
    rng = random.Random(7)
    for path in LEAVES:
        for _ in range(16):
            ProductFactory(title=title_for(path, rng), brand=None, category=nodes[path], category_source="imported")
    for node in nodes.values():
        node.refresh_from_db()
    return {path: nodes[path] for path in LEAVES} | {"nodes": nodes}


@pytest.fixture
def trained(catalog_tree, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # as if committed: the active id is re-read
        result = classifier_train()
    assert result["activated"]
    return catalog_tree


def shirts(tree):
    return tree[("Clothing", "Men", "Shirts")]


def laptops(tree):
    return tree[("Electronics", "Laptops")]


# --- training ---------------------------------------------------------------------------


def test_the_training_job_creates_an_active_version_with_metrics(catalog_tree, settings):
    settings.JOB_PROGRESS_INTERVAL = 0

    job = job_run(job_id=job_create(kind=Job.Kind.TRAIN_CLASSIFIER, enqueue=False).pk)

    assert job.status == "done", job.error
    version = ModelVersion.objects.get(kind="classifier")
    assert version.status == "active" and version.artifact_checksum
    assert version.metrics["heldout.path_accuracy"] >= 0.8
    assert {"heldout.level1.macro_f1", "heldout.automatic_share", "activation_reason"} <= set(version.metrics)
    assert version.params["train_size"] + version.params["heldout_size"] == 80
    assert version.metrics["timing.device"] == "cpu"  # TORCH_DEVICE, pinned to the CPU in tests
    assert job.result["activated"] is True


def test_training_and_loading_follow_the_torch_device_setting(trained, settings, monkeypatch):
    """TORCH_DEVICE reaches the trainer and the loader: a GPU asked for where there is none fails clearly."""
    import torch

    from recommend.classification.selectors import active_classifier

    settings.TORCH_DEVICE = "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="TORCH_DEVICE=cuda"):
        classifier_train()
    assert ModelVersion.objects.filter(kind="classifier", status="failed").count() == 1
    forget_loaded_classifiers()
    with pytest.raises(ValueError, match="TORCH_DEVICE=cuda"):
        active_classifier()
    settings.TORCH_DEVICE = "auto"  # no GPU: the CPU
    forget_loaded_classifiers()
    _, model = active_classifier()
    assert model.device.type == "cpu"


@pytest.mark.parametrize("force", [False, True])
def test_a_worse_version_goes_live_only_when_forced(trained, monkeypatch, force):
    from recommend.ml import classification as ml

    def train_a_worse_model(*args, **kwargs):
        model = train_once(*args, **kwargs)
        model.predict_paths = lambda texts, **_: [model.labels.paths[0]] * len(texts)  # always the same answer
        return model

    monkeypatch.setattr(ml, "train_classifier", train_a_worse_model)

    result = classifier_train(force=force)

    first, second = ModelVersion.objects.order_by("version")
    assert result["activated"] is force
    assert (first.status, second.status) == (("retired", "active") if force else ("active", "ready"))
    assert second.metrics["heldout.path_accuracy"] < second.metrics["compared_with.path_accuracy"]


def test_training_without_enough_labelled_products_fails_clearly(db):
    job = job_run(job_id=job_create(kind=Job.Kind.TRAIN_CLASSIFIER, enqueue=False).pk)

    assert job.status == "failed" and "Need at least 10 products" in job.error
    assert not ModelVersion.objects.exists()


# --- auto-classification -----------------------------------------------------------------


def test_a_new_product_above_the_threshold_gets_an_automatic_category(trained, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        product = ProductFactory(title="Acme Laptop Ultrabook", category=None)

    product.refresh_from_db()
    assert product.category == laptops(trained)
    assert product.category_source == "automatic" and product.category_confidence >= 0.3
    assert not product.needs_review
    assert product.category_suggestions.count() == 3


def test_below_the_threshold_the_product_waits_for_review(trained, settings, django_capture_on_commit_callbacks):
    settings.CLASSIFIER_CONFIDENCE_THRESHOLD = 1.01

    with django_capture_on_commit_callbacks(execute=True):
        product = ProductFactory(title="Acme Laptop Ultrabook", category=None)

    product.refresh_from_db()
    assert product.category is None and product.needs_review
    top = product.category_suggestions.order_by("rank").first()
    assert top.category == laptops(trained) and top.model_version.status == "active"
    assert {"laptop", "ultrabook"} & {word for word, _ in top.attention}


@pytest.mark.parametrize("source", ["manual", "imported"])
def test_a_category_from_staff_or_an_import_is_never_overwritten(trained, source, django_capture_on_commit_callbacks):
    product = ProductFactory(title="Blue Shirt", category=shirts(trained), category_source=source)

    with django_capture_on_commit_callbacks(execute=True):
        product.title = "Acme Laptop Ultrabook"
        product.save()

    product.refresh_from_db()
    assert product.category == shirts(trained) and product.category_source == source
    assert not product.needs_review
    if source == "imported":  # suggestions are still stored for staff to compare
        assert product.category_suggestions.first().category == laptops(trained)


def test_an_import_classifies_the_new_products(trained, tmp_path, django_capture_on_commit_callbacks):
    feed = tmp_path / "feed.csv"
    feed.write_text("sku,title,category_path\nN-1,Nova Smartphone Android,\nN-2,Cotton Gown Dress,Clothing > Women\n")

    with django_capture_on_commit_callbacks(execute=True):
        import_file(path=feed, kind="products", mapping=ProductMapping())

    phone, gown = Product.objects.get(sku="N-1"), Product.objects.get(sku="N-2")
    assert phone.category == trained[("Electronics", "Phones")] and phone.category_source == "automatic"
    assert gown.category.name == "Women" and gown.category_source == "imported"  # imported category kept
    assert CategorySuggestion.objects.filter(product__in=[phone, gown]).count() == 6


def test_without_an_active_classifier_nothing_is_classified(catalog_tree, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        product = ProductFactory(title="Acme Laptop", category=None)

    assert products_classify(product_ids=[product.pk])["classified"] == 0
    assert not CategorySuggestion.objects.exists()


# --- the review queue in the admin ---------------------------------------------------------


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def queued(trained, settings):
    """Two products in the review queue (threshold above any confidence), and one that is not."""
    settings.CLASSIFIER_CONFIDENCE_THRESHOLD = 1.01
    laptop = ProductFactory(title="Nova Laptop Notebook", category=None)
    dress = ProductFactory(title="Red Gown Frock", category=None)
    ProductFactory(title="Classic Oxford Shirt", category=shirts(trained), category_source="manual")
    products_classify(product_ids=[laptop.pk, dress.pk])
    return {"laptop": laptop, "dress": dress, **trained}


QUEUE = "admin:recommend_reviewqueueproduct_changelist"


def test_the_review_queue_lists_products_with_their_suggestions(admin_client, queued):
    response = admin_client.get(reverse(QUEUE))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Nova Laptop Notebook" in page and "Red Gown Frock" in page
    assert "Classic Oxford Shirt" not in page
    assert "Electronics › Laptops" in page and "Clothing › Women › Dresses" in page
    assert "laptop" in page  # an attention word next to the suggestion


def test_bulk_accepting_the_top_suggestion_sets_the_category_and_empties_the_queue(admin_client, queued):
    ids = [queued["laptop"].pk, queued["dress"].pk]

    response = admin_client.post(reverse(QUEUE), {"action": "accept_top_suggestion", "_selected_action": ids})

    assert response.status_code == 302
    laptop, dress = (Product.objects.get(pk=pk) for pk in ids)
    assert laptop.category == laptops(queued) and dress.category.name == "Dresses"
    assert laptop.category_source == dress.category_source == "manual"
    assert not Product.objects.filter(needs_review=True).exists()


def test_moving_from_the_queue_to_another_category(admin_client, queued):
    target = queued[("Home", "Kitchen")]
    data = {"action": "move_to_category", "_selected_action": [queued["laptop"].pk]}

    form = admin_client.post(reverse(QUEUE), data)
    assert form.status_code == 200 and b"Move products" in form.content
    admin_client.post(reverse(QUEUE), {**data, "apply": "1", "category": target.pk})

    laptop = Product.objects.get(pk=queued["laptop"].pk)
    assert (laptop.category, laptop.category_source, laptop.needs_review) == (target, "manual", False)


def test_accepting_one_suggestion(admin_client, queued):
    second = CategorySuggestion.objects.get(product=queued["dress"], rank=1)

    response = admin_client.post(reverse("admin:recommend_reviewqueue_accept", args=[second.pk]))

    assert response.status_code == 302
    dress = Product.objects.get(pk=queued["dress"].pk)
    assert dress.category == second.category and not dress.needs_review
    assert admin_client.get(reverse("admin:recommend_reviewqueue_accept", args=[second.pk])).status_code == 405


def test_staff_start_training_from_the_admin_with_forced_activation(admin_client, catalog_tree):
    page = admin_client.get(reverse("admin:recommend_modelversion_changelist"))
    assert reverse("admin:recommend_train_classifier").encode() in page.content

    response = admin_client.post(reverse("admin:recommend_train_classifier"), {"force": "on", "epochs": "3"})

    assert response.status_code == 302
    job = Job.objects.get(kind=Job.Kind.TRAIN_CLASSIFIER)
    assert job.params == {"force": True, "epochs": 3} and job.status == "queued"


def test_the_model_version_page_shows_its_metrics(admin_client, trained):
    version = ModelVersion.objects.get(kind="classifier")

    page = admin_client.get(reverse("admin:recommend_modelversion_change", args=[version.pk])).content.decode()

    assert "heldout.path_accuracy" in page and "activation_reason" in page


# --- the tree changes --------------------------------------------------------------------------


def test_moving_categories_queues_exactly_one_retrain(trained, django_capture_on_commit_callbacks):
    nodes = trained["nodes"]

    with django_capture_on_commit_callbacks(execute=False):
        category_move(category=nodes[("Electronics", "Laptops")], target=nodes[("Home",)])
        category_move(category=nodes[("Clothing", "Women")], target=None)

    retrains = Job.objects.filter(kind=Job.Kind.TRAIN_CLASSIFIER)
    assert retrains.count() == 1 and retrains.get().params["reason"] == "taxonomy move"


def test_a_moved_category_stays_a_valid_prediction_until_the_retrain(trained):
    nodes = trained["nodes"]
    category_move(category=nodes[("Electronics", "Laptops")], target=nodes[("Home",)])

    best = predict_categories(["Nova Laptop Ultrabook"])[0][0]

    assert best.category == laptops(trained)
    assert best.path == ["Home", "Laptops"]


def test_a_deleted_category_is_dropped_from_predictions(trained):
    laptops(trained).delete()

    predictions = predict_categories(["Nova Laptop Ultrabook"], top_k=3)[0]

    assert len(predictions) == 3 and all(p.category.name != "Laptops" for p in predictions)


def test_the_review_queue_query_count_does_not_grow_with_the_page(admin_client, queued, django_assert_max_num_queries):
    admin_client.get(reverse(QUEUE))  # warm the session and content types
    with django_assert_max_num_queries(12):
        admin_client.get(reverse(QUEUE))
    more = [ProductFactory(title=f"Acme Notebook {n}", category=None).pk for n in range(6)]
    products_classify(product_ids=more)

    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse(QUEUE))

    assert response.content.decode().count('<ol class="classifier-suggestions">') == 8
