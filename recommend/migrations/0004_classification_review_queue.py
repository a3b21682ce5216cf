from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_capabilities_schema"),
        ("recommend", "0003_product_search_fts"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReviewQueueProduct",
            fields=[],
            options={
                "verbose_name": "product to review",
                "verbose_name_plural": "review queue",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("catalog.product",),
        ),
    ]
