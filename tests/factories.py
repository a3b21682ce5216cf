"""factory_boy factories shared by all tests."""

from datetime import UTC, datetime
from decimal import Decimal

import factory
from django.contrib.auth.models import User

from catalog.models import Brand, Interaction, Product
from taxonomy.models import AttributeNode, Category


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests-only")


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")
    parent = None


class AttributeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AttributeNode

    kind = AttributeNode.Kind.ATTRIBUTE
    name = factory.Sequence(lambda n: f"Attribute {n}")
    slug = factory.Sequence(lambda n: f"attribute-{n}")
    data_type = AttributeNode.DataType.TEXT


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    title = factory.Sequence(lambda n: f"Product {n}")
    brand = factory.SubFactory(BrandFactory)
    price = Decimal("19.99")
    currency = "USD"
    category = factory.SubFactory(CategoryFactory)


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    visitor_id = factory.Sequence(lambda n: f"visitor-{n}")
    product = factory.SubFactory(ProductFactory)
    event = Interaction.Event.VIEW
    timestamp = datetime(2025, 1, 1, tzinfo=UTC)


def visitor_of(client) -> str:
    """The visitor id the storefront gave this test client (its own cookie, never the session key)."""
    from django.conf import settings

    return client.cookies[settings.VISITOR_COOKIE_NAME].value


def give_visitor(client, visitor_id: str = "v-" + "0" * 31 + "1") -> str:
    """Send `visitor_id` as this client's visitor cookie (as a returning browser would)."""
    from django.conf import settings

    client.cookies[settings.VISITOR_COOKIE_NAME] = visitor_id
    return visitor_id
