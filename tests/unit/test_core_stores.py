"""The shared core's two stores: product vectors (embedded once per text and encoder) and the model cache."""

import numpy as np
import pytest

from recommend.core import vectors
from recommend.core.model_cache import ModelCache
from recommend.core.models import ProductVector
from recommend.core.registry import model_version_activate, model_version_create, model_version_mark
from recommend.core.vectors import Encoder, product_vectors, product_vectors_prune, register_encoder
from recommend.models import ModelVersion
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def encoded(monkeypatch):
    """A fake default encoder that records every batch of texts it is asked to embed."""
    calls: list[list[str]] = []

    def encode(texts, progress=None):
        calls.append(list(texts))
        return np.array([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32)

    monkeypatch.setattr(vectors, "encode_texts", encode)
    return calls


def test_a_product_is_embedded_once_and_again_only_when_its_text_changes(encoded):
    shirt, dress = ProductFactory(title="Red shirt"), ProductFactory(title="Blue dress")

    ids, first = product_vectors(product_ids=[shirt.pk, dress.pk])
    _, again = product_vectors(product_ids=[shirt.pk, dress.pk])
    shirt.title = "Red linen shirt"
    shirt.save()
    _, changed = product_vectors(product_ids=[shirt.pk, dress.pk])

    assert ids.tolist() == [shirt.pk, dress.pk] and np.array_equal(first, again)
    assert [len(batch) for batch in encoded] == [2, 1]  # the second call embedded nothing
    assert np.array_equal(changed[1], first[1]) and not np.array_equal(changed[0], first[0])


def test_products_with_the_same_text_share_one_stored_vector(encoded):
    ProductFactory(title="Same words", description="", brand=None, category=None)
    ProductFactory(title="Same words", description="", brand=None, category=None)

    product_vectors()

    assert ProductVector.objects.count() == 1 and len(encoded[0]) == 1


def test_a_second_encoder_keeps_its_own_rows_and_pruning_drops_unused_texts(encoded):
    product = ProductFactory(title="Red shirt")
    register_encoder(Encoder(name="test:upper", encode=lambda texts, progress: np.ones((len(texts), 2), np.float32)))

    _, default = product_vectors(product_ids=[product.pk])
    _, upper = product_vectors(product_ids=[product.pk], encoder="test:upper")
    removed = product_vectors_prune(keep_hashes=[])

    assert default.shape[1] == 3 and upper.shape[1] == 2
    assert removed == 1 and set(ProductVector.objects.values_list("encoder", flat=True)) == {"test:upper"}


def test_unknown_encoder_names_say_which_exist():
    with pytest.raises(KeyError, match="No product encoder named 'nope'"):
        vectors.encoder_named("nope")


def ready_version():
    version = model_version_create(kind="test_kind", params={})
    return model_version_mark(version=version, status=ModelVersion.Status.READY)


def test_the_model_cache_loads_once_and_follows_activation():
    loads: list[int] = []
    cache = ModelCache("test_kind", load=lambda version: loads.append(version.pk) or f"model {version.version}")
    first = ready_version()
    model_version_activate(version=first)

    assert cache.active() == (first.pk, "model 1") and cache.active() == (first.pk, "model 1")
    second = ready_version()
    model_version_activate(version=second)

    assert cache.active() == (second.pk, "model 2")
    assert loads == [first.pk, second.pk]


def test_the_model_cache_has_nothing_without_an_active_version():
    cache = ModelCache(ModelVersion.Kind.HIERARCHY, load=lambda version: "never")

    assert cache.active() is None


def test_plain_text_vectors_survive_the_product_prune(encoded):
    product = ProductFactory(title="Red shirt")
    product_vectors(product_ids=[product.pk])

    first = vectors.text_vectors(["red shirt", "blue dress"])
    product_vectors_prune(keep_hashes=[])
    again = vectors.text_vectors(["red shirt", "blue dress"])

    assert np.array_equal(first, again) and [len(batch) for batch in encoded] == [1, 2]
