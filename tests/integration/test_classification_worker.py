"""End to end on real services: a worker trains the classifier, then classifies an import on its own."""

import random
import time

import pytest

from catalog.importers import ProductMapping
from catalog.models import Product
from catalog.services import import_file
from recommend.core.jobs import job_create
from recommend.models import CategorySuggestion, Job, ModelVersion
from tests.factories import CategoryFactory, ProductFactory
from tests.integration.test_worker_jobs import watch

pytestmark = pytest.mark.django_db(transaction=True)

LEAVES = {
    ("Electronics", "Phones"): ["phone", "smartphone", "android"],
    ("Electronics", "Laptops"): ["laptop", "notebook", "ultrabook"],
    ("Home", "Kitchen"): ["skillet", "saucepan", "cookware"],
    ("Clothing", "Dresses"): ["dress", "gown", "frock"],
}
FILLER = ["blue", "red", "classic", "acme", "nova", "black", "premium", "new"]


def labelled_catalog(per_leaf=40):
    rng = random.Random(3)
    nodes = {}
    for path, keywords in LEAVES.items():
        root = nodes.get(path[0]) or CategoryFactory(name=path[0], slug=path[0].lower())
        nodes[path[0]] = root
        leaf = CategoryFactory(name=path[1], slug=path[1].lower(), parent=root)
        nodes[path] = leaf
        for _ in range(per_leaf):
            words = rng.sample(FILLER, 2) + rng.sample(keywords, 2)
            rng.shuffle(words)
            ProductFactory(title=" ".join(words).title(), brand=None, category=leaf, category_source="imported")
    return nodes


def wait_for(condition, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("the worker did not get there in time")


def test_an_import_is_classified_by_the_worker(celery_worker_process, tmp_path):
    nodes = labelled_catalog()
    train = job_create(
        kind=Job.Kind.TRAIN_CLASSIFIER,
        # force: on this tiny catalog the TF-IDF baseline ties the classifier (a tie does not beat it); the test
        # is about the worker, not the model's margin.
        params={"demo": True, "epochs": 15, "config": {"validation_fraction": 0}, "force": True},
    )
    train, _ = watch(train.pk, timeout=180)
    assert train.status == "done", train.error
    assert ModelVersion.objects.get(kind="classifier").status == "active"

    feed = tmp_path / "new_products.csv"
    feed.write_text("sku,title,category_path\nNEW-1,Nova Android Smartphone,\nNEW-2,Acme Cookware Skillet,\n")
    import_file(path=feed, kind="products", mapping=ProductMapping())  # products_imported -> inference queue

    new = Product.objects.filter(sku__startswith="NEW-")
    wait_for(lambda: CategorySuggestion.objects.filter(product__in=new).count() == 6)
    phone, skillet = Product.objects.get(sku="NEW-1"), Product.objects.get(sku="NEW-2")
    assert phone.category == nodes[("Electronics", "Phones")] and phone.category_source == "automatic"
    assert skillet.category == nodes[("Home", "Kitchen")] and skillet.category_confidence >= 0.6
    assert not Product.objects.filter(needs_review=True).exists()
