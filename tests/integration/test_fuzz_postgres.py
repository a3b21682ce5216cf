"""The API fuzz on PostgreSQL and the Redis cache, where bad input fails differently than on SQLite (NUL
bytes, integer ranges, string lengths): no server error, no response outside the schema."""

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.authtoken.models import Token

from recommend.core import vectors
from tests.factories import BrandFactory, InteractionFactory, ProductFactory, StaffFactory
from tests.fakes import bag_of_words
from tests.fuzzing import fuzz_api

pytestmark = pytest.mark.django_db(transaction=True)


def test_fuzzing_every_operation_on_postgres(real_services, tree, monkeypatch):
    monkeypatch.setattr(vectors, "encode_texts", bag_of_words)
    brand = BrandFactory(name="Acme")
    for n in range(3):
        InteractionFactory(product=ProductFactory(title=f"Shirt {n}", category=tree["shirts"], brand=brand))
    token = Token.objects.create(user=StaffFactory(username="fuzz-staff")).key
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

    with override_settings(STORAGES=storages, ALLOWED_HOSTS=["localhost", "testserver"]):
        report = fuzz_api(roles={"anonymous": {}, "staff": {"Authorization": f"Token {token}"}}, max_examples=6)

    assert report.server_errors == [] and report.schema_violations == []
    assert report.requests > report.operations * 6
