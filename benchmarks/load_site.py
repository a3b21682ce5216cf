"""The site benchmarks/load.py drives: real data, trained models and signed-in shoppers who have a history.

Imported (SHOP_DATA_DIR, as the demo does, in slices): the first --limit Flipkart products, twice as many Amazon
Beauty items (at most 2,000, with their shoppers' purchases) and every Groceries basket (orders). Trained on it
with the demo's quick configurations (what `manage.py setup_demo` queues): the similar-items build, the
bought-together build and the sequential recommender (`TrainingOptions(demo=True)`, about a minute at most). So
recommendations and bought-together answer from their models, not from their fallbacks.

Shoppers: SHOPPERS shoppers with at least MIN_HISTORY events (half Beauty shoppers, half Groceries members, as far
as there are) become accounts (`load-shopper-<n>`, each with an API token) whose events are linked to the account
under a fresh visitor id (`v-<32 hex>`, catalog/visitors.py). The load sends each recommendations request as one
of them, by token or by visitor cookie, half each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SHOPPERS = 40
MIN_HISTORY = 3
# Beauty items per Flipkart product imported (its shoppers' events: 16 rows per item), at most BEAUTY_MAX; every
# Groceries basket (a slice of its rows would split the orders).
BEAUTY_PER_PRODUCT, BEAUTY_MAX = 2, 2000


@dataclass
class Site:
    ids: list[int]  # every active product (the mix's product pages and similar items)
    token: str  # the staff token that posts events
    bought_ids: list[int]  # products in at least one order (bought-together requests)
    shoppers: list[tuple[str, str]] = field(default_factory=list)  # (API token, visitor id) per signed-in shopper
    models: dict[str, Any] = field(default_factory=dict)  # kind -> active version id, or None when not trained
    train_seconds: float = 0.0


def _progress(name: str) -> Any:
    return lambda fraction, message: print(f"\r{name} {fraction:5.0%} {str(message)[:60]:60}", end="", flush=True)


def import_data(data_dir: Path, limit: int) -> None:
    from catalog.services import import_preset
    from recommend.core.jobs import automatic_jobs_suspended

    with automatic_jobs_suspended():
        import_preset(name="flipkart", data_dir=data_dir, limit=limit)
        import_preset(name="beauty", data_dir=data_dir, limit=min(BEAUTY_MAX, BEAUTY_PER_PRODUCT * limit))
        import_preset(name="groceries", data_dir=data_dir, limit=None)


def make_shoppers(count: int = SHOPPERS) -> list[tuple[str, str]]:
    """Accounts with a token and a visitor id, each taking over one imported Beauty shopper's events."""
    from django.contrib.auth.models import User
    from django.db.models import Count
    from rest_framework.authtoken.models import Token

    from catalog.models import Interaction
    from catalog.visitors import new_visitor_id

    shoppers = []
    for user in User.objects.filter(username__startswith="load-shopper-").order_by("pk"):
        visitor = Interaction.objects.filter(user=user).values_list("visitor_id", flat=True).first()
        if visitor:
            shoppers.append((Token.objects.get_or_create(user=user)[0].key, visitor))
    if shoppers:
        return shoppers  # a reused site keeps its shoppers
    histories = (
        Interaction.objects.filter(user__isnull=True, product__isnull=False)
        .exclude(visitor_id__startswith="load-")
        .values("visitor_id")
        .annotate(events=Count("pk"))
        .filter(events__gte=MIN_HISTORY)
        .order_by("-events", "visitor_id")
    )
    # Half Beauty shoppers, half Groceries members (as many as there are of each).
    beauty = list(histories.exclude(visitor_id__startswith="member-")[:count])
    members = list(histories.filter(visitor_id__startswith="member-")[: count - min(len(beauty), count // 2)])
    candidates = beauty[: count - len(members)] + members
    for number, row in enumerate(candidates):
        user = User.objects.create_user(f"load-shopper-{number}", f"shopper{number}@example.com", None)
        visitor = new_visitor_id()
        Interaction.objects.filter(visitor_id=row["visitor_id"]).update(visitor_id=visitor, user=user)
        shoppers.append((Token.objects.get_or_create(user=user)[0].key, visitor))
    return shoppers


def active_models() -> dict[str, Any]:
    from recommend.core.registry import active_version_id
    from recommend.models import ModelVersion

    kinds = {
        "similar": ModelVersion.Kind.SIMILAR,
        "bought_together": ModelVersion.Kind.BOUGHT_TOGETHER,
        "recommender": ModelVersion.Kind.SEQUENTIAL,
    }
    return {name: active_version_id(kind) for name, kind in kinds.items()}


def train_models() -> float:
    """The similar-items build, the bought-together build and the recommender (demo configuration)."""
    from recommend.bought_together.services import bought_together_build
    from recommend.sequential.services import TrainingOptions, recommender_train
    from recommend.similarity.services import similarity_build

    started = time.monotonic()
    similarity_build(progress=_progress("similar items"))
    print()
    bought_together_build(progress=_progress("bought together"))
    print()
    # force: the first version of a throw-away site; its validation figures are in its metrics either way.
    recommender_train(options=TrainingOptions(demo=True, force=True), progress=_progress("recommender"))
    print()
    return round(time.monotonic() - started, 1)


def prepare_site(workdir: Path, limit: int, *, train: bool = True) -> Site:
    """Import, make shoppers, train (unless `train` is off: a correctness run of the serving path with its
    fallbacks), make a staff token; a `workdir` that already holds a trained site is reused."""
    import os

    from common import setup_django

    os.environ["VAR_DIR"] = str(workdir / "var")
    setup_django(workdir / "site.sqlite3", fresh=False)
    from django.conf import settings
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from catalog.models import Interaction, Product

    train_seconds = 0.0
    if not Product.objects.exists():
        import_data(settings.SHOP_DATA_DIR, limit)
    if train and not all(active_models().values()):
        make_shoppers()  # before training: the model has seen their (renamed) histories
        train_seconds = train_models()
    shoppers = make_shoppers()
    staff = User.objects.filter(username="load-staff").first() or User.objects.create_superuser(
        "load-staff", "load@example.com", "load-only-password"
    )
    token = Token.objects.get_or_create(user=staff)[0].key
    ids = list(Product.objects.filter(is_active=True).values_list("pk", flat=True)[:2000])
    in_orders = Interaction.objects.exclude(order_id="").filter(product__is_active=True)
    bought_ids = sorted(set(in_orders.values_list("product_id", flat=True)))[:2000]
    return Site(ids, token, bought_ids or ids, shoppers, active_models(), train_seconds)
