"""Every API operation fuzzed (schemathesis, valid and invalid inputs, anonymous and staff): no 500 and no
response outside the schema. Bounded: a few examples per operation (benchmarks/fuzz.py runs more)."""

import pytest
from rest_framework.authtoken.models import Token

from recommend.core import vectors
from tests.factories import BrandFactory, InteractionFactory, ProductFactory
from tests.fakes import bag_of_words
from tests.fuzzing import fuzz_api

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 4


@pytest.fixture
def shop(tree, staff, monkeypatch):
    monkeypatch.setattr(vectors, "encode_texts", bag_of_words)
    brand = BrandFactory(name="Acme")
    products = [ProductFactory(title=f"Blue shirt {n}", category=tree["shirts"], brand=brand) for n in range(3)]
    for product in products:
        InteractionFactory(product=product, visitor_id="v1")
    return Token.objects.get_or_create(user=staff)[0].key


def test_fuzzing_every_operation_finds_no_server_error_and_no_schema_violation(shop):
    report = fuzz_api(roles={"anonymous": {}, "staff": {"Authorization": f"Token {shop}"}}, max_examples=MAX_EXAMPLES)

    assert report.operations >= 15 and report.requests >= report.operations * 4
    assert report.server_errors == []
    assert report.schema_violations == []
