"""A small catalog in four obvious groups and a cheap encoder, shared by the taxonomy proposal tests."""

import pytest

from recommend.core import vectors
from recommend.hierarchy.services import proposal_build_start
from tests import fakes
from tests.factories import BrandFactory, ProductFactory

GROUPS = {
    # group: (live category key in the `tree` fixture, titles)
    "shirts": ("shirts", ["{c} cotton shirt slim fit", "{c} linen shirt long sleeve", "{c} oxford shirt button down"]),
    "dresses": ("women", ["{c} floral summer dress", "{c} maxi dress evening", "{c} wrap dress midi"]),
    "radios": ("electronics", ["{c} portable radio receiver", "{c} radio alarm clock", "{c} pocket radio fm"]),
    # Sneakers sit in Electronics by mistake: the proposal should take them out.
    "sneakers": ("electronics", ["{c} running sneakers mesh", "{c} canvas sneakers low", "{c} leather sneakers white"]),
}
COLOURS = ["red", "blue", "black", "green"]


def bag_of_words(texts, progress=None):
    return fakes.bag_of_words(texts, progress, dimension=256)


def install_fake_encoder(monkeypatch):
    monkeypatch.setattr(vectors, "encode_texts", bag_of_words)


def make_catalog(tree):
    """48 products: 12 per group, each group in one live category (sneakers wrongly in Electronics)."""
    brands = {group: BrandFactory(name=f"{group.title()} Co") for group in GROUPS}
    products = {group: [] for group in GROUPS}
    for group, (category, patterns) in GROUPS.items():
        for colour in COLOURS:
            for pattern in patterns:
                products[group].append(
                    ProductFactory(title=pattern.format(c=colour.title()), category=tree[category], brand=brands[group])
                )
    return products


# Fixtures shared by the proposal test modules (imported there by name).
@pytest.fixture(autouse=True)
def fake_encoder(monkeypatch):
    install_fake_encoder(monkeypatch)


@pytest.fixture
def catalog(tree):
    return make_catalog(tree)


@pytest.fixture
def built(catalog, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        proposal = proposal_build_start(depth=2)
    proposal.refresh_from_db()
    return proposal
