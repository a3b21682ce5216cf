"""Full-text index for lexical product search: an FTS5 table on SQLite (PostgreSQL searches on the fly)."""

from django.db import migrations

CREATE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS recommend_product_fts USING fts5("
    "title, brand, category, tokenize='porter unicode61 remove_diacritics 2')"
)


def create_fts(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(CREATE)


def drop_fts(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS recommend_product_fts")


class Migration(migrations.Migration):
    dependencies = [("recommend", "0002_capabilities_schema")]
    operations = [migrations.RunPython(create_fts, drop_fts)]
