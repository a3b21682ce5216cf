"""Importers: mapping, bad rows with file/row/column, idempotent re-runs, strict mode, presets."""

import gzip
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from catalog.importers import ImportAborted, InteractionMapping, ProductMapping
from catalog.importers.presets import flipkart, flipkart_category_path, flipkart_specifications
from catalog.models import Interaction, Product
from catalog.services import import_file, import_steps
from taxonomy.models import AttributeNode, Category

pytestmark = pytest.mark.django_db

PRODUCTS_CSV = """sku,title,brand,price,path
A1,Blue cotton shirt,Acme,19.99,Clothing > Men > Shirts
A2,Red dress,Zed,49,Clothing > Women
A3,,Acme,10,Clothing
A4,Cheap phone,Acme,-5,Electronics
A5,Phone case,Acme,4.5,Electronics > Accessories
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def product_mapping():
    return ProductMapping(
        columns={"sku": "sku", "title": "title", "brand": "brand", "price": "price", "category_path": "path"}
    )


def test_good_rows_are_imported_with_their_category_paths(tmp_path):
    report = import_file(path=write(tmp_path, "p.csv", PRODUCTS_CSV), kind="products", mapping=product_mapping())

    assert report.created == 3
    shirt = Product.objects.get(sku="A1")
    assert shirt.category.path == ["Clothing", "Men", "Shirts"]
    assert shirt.brand.name == "Acme"
    assert shirt.price == Decimal("19.99")
    assert shirt.source_category_path == "Clothing > Men > Shirts"


def test_bad_rows_are_reported_with_file_row_and_column(tmp_path):
    report = import_file(path=write(tmp_path, "p.csv", PRODUCTS_CSV), kind="products", mapping=product_mapping())

    problems = {(e.file, e.row, e.column): e.reason for e in report.errors}
    assert problems == {("p.csv", 3, "title"): "is required", ("p.csv", 4, "price"): "must not be negative"}


def test_reimport_updates_and_never_duplicates(tmp_path):
    path = write(tmp_path, "p.csv", PRODUCTS_CSV)
    import_file(path=path, kind="products", mapping=product_mapping())
    path.write_text(PRODUCTS_CSV.replace("Blue cotton shirt", "Blue linen shirt"))

    report = import_file(path=path, kind="products", mapping=product_mapping())

    assert (report.created, report.updated) == (0, 3)
    assert Product.objects.count() == 3
    assert Product.objects.get(sku="A1").title == "Blue linen shirt"
    assert Category.objects.count() == 6


def test_strict_import_writes_nothing_when_a_row_is_bad(tmp_path):
    with pytest.raises(ImportAborted) as error:
        import_file(
            path=write(tmp_path, "p.csv", PRODUCTS_CSV), kind="products", mapping=product_mapping(), strict=True
        )

    assert len(error.value.report.errors) == 2
    assert Product.objects.count() == 0
    assert Category.objects.count() == 0


def test_a_category_set_by_staff_survives_reimport(tmp_path, tree):
    path = write(tmp_path, "p.csv", PRODUCTS_CSV)
    import_file(path=path, kind="products", mapping=product_mapping())
    Product.objects.filter(sku="A1").update(category=tree["electronics"], category_source="manual")

    import_file(path=path, kind="products", mapping=product_mapping())

    product = Product.objects.get(sku="A1")
    assert product.category == tree["electronics"]
    assert product.source_category_path == "Clothing > Men > Shirts"


def test_jsonl_rows_and_invalid_json_lines(tmp_path):
    lines = [json.dumps({"sku": "J1", "title": "Lamp", "category_path": ["Home", "Lighting"]}), "{not json", ""]
    report = import_file(path=write(tmp_path, "p.jsonl", "\n".join(lines)), kind="products", mapping=ProductMapping())

    assert Product.objects.get(sku="J1").category.path == ["Home", "Lighting"]
    assert [(e.row, e.column) for e in report.errors] == [(2, "(row)")]
    assert "invalid JSON" in report.errors[0].reason


def test_interactions_are_idempotent_by_event_id(tmp_path):
    import_file(path=write(tmp_path, "p.csv", PRODUCTS_CSV), kind="products", mapping=product_mapping())
    events = (
        "visitor_id,sku,event,timestamp,event_id\nu1,A1,view,1700000000,e1\nu1,A2,purchase,2024-01-02T10:00:00Z,e2\n"
    )
    path = write(tmp_path, "e.csv", events)

    first = import_file(path=path, kind="interactions", mapping=InteractionMapping())
    second = import_file(path=path, kind="interactions", mapping=InteractionMapping())

    assert (first.created, second.created, second.unchanged) == (2, 0, 2)
    assert Interaction.objects.count() == 2


def test_interaction_rows_with_unknown_sku_or_bad_time_are_reported(tmp_path):
    events = (
        "visitor_id,sku,event,timestamp,query\n"
        "u1,NOPE,view,1700000000,\nu1,,teleport,1700000000,\nu2,,search,yesterday,shoes\nu3,,search,1700000000,\n"
    )
    report = import_file(path=write(tmp_path, "e.csv", events), kind="interactions", mapping=InteractionMapping())

    assert [(e.row, e.column) for e in report.errors] == [(1, "sku"), (2, "event"), (3, "timestamp"), (4, "query")]
    assert Interaction.objects.count() == 0


def test_flipkart_path_drops_the_leaf_that_repeats_the_title():
    tree = "[\"Clothing >> Women's Clothing >> Shorts >> Alisha Solid Women's Cycling Sho...\"]"

    assert flipkart_category_path(tree, "Alisha Solid Women's Cycling Shorts") == [
        "Clothing",
        "Women's Clothing",
        "Shorts",
    ]


def test_flipkart_specifications_are_parsed_into_key_values():
    text = '{"product_specification"=>[{"key"=>"Fabric", "value"=>"Cotton"}, {"value"=>"orphan"}]}'

    assert flipkart_specifications(text) == {"Fabric": "Cotton"}


def test_flipkart_preset_on_a_tiny_sample(tmp_path):
    folder = tmp_path / "flipkart_ecommerce_sample"
    folder.mkdir()
    header = (
        "uniq_id,product_name,product_category_tree,pid,retail_price,discounted_price,"
        "is_FK_Advantage_product,product_rating,overall_rating,brand\n"
    )
    row = 'u1,Acme Mug,"[""Home >> Kitchen >> Mugs >> Acme Mug""]",P1,300,250,FALSE,4,4,Acme\n'
    (folder / "flipkart_20k_joined.csv").write_text(header + row)

    reports = import_steps(flipkart(tmp_path))

    assert reports[0].created == 1
    product = Product.objects.get(sku="u1")
    assert (product.category.path, product.price, product.currency) == (
        ["Home", "Kitchen", "Mugs"],
        Decimal("250"),
        "INR",
    )


def test_enum_attributes_get_value_nodes(tmp_path):
    from catalog.importers.products import AttributeColumn

    mapping = ProductMapping(attributes={"colour": AttributeColumn("Colour", AttributeNode.DataType.ENUM)})
    path = write(tmp_path, "p.csv", "sku,title,category_path,colour\nX1,Shirt,Clothing,Red\nX2,Dress,Clothing,red\n")
    import_file(path=path, kind="products", mapping=mapping)

    colour = AttributeNode.objects.get(name="Colour")
    assert list(colour.get_children().values_list("name", flat=True)) == ["Red"]
    assert Product.objects.get(sku="X2").attribute_values.get().value_node.name == "Red"
    assert list(colour.categories.values_list("name", flat=True)) == ["Clothing"]


def test_gzipped_interactions_file(tmp_path):
    import_file(path=write(tmp_path, "p.csv", PRODUCTS_CSV), kind="products", mapping=product_mapping())
    path = tmp_path / "e.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(
            "visitor_id,sku,event,timestamp,order_id\nm1,A1,purchase,1700000000,o1\nm1,A2,purchase,1700000000,o1\n"
        )

    import_file(path=path, kind="interactions", mapping=InteractionMapping())

    assert list(Interaction.objects.values_list("order_id", flat=True).distinct()) == ["o1"]


def test_command_reports_bad_rows_and_strict_fails(tmp_path, capsys):
    path = write(tmp_path, "p.csv", PRODUCTS_CSV)
    args = ["--file", str(path), "--map", "category_path=path", "-v", "0"]

    call_command("import_catalog", *args)
    output = capsys.readouterr().out
    assert "3 created" in output
    assert "p.csv: row 3, column 'title': is required" in output
    Product.objects.all().delete()
    with pytest.raises(CommandError, match="2 bad rows, nothing imported"):
        call_command("import_catalog", *args, "--strict")
    assert Product.objects.count() == 0


def test_command_rejects_a_malformed_mapping(tmp_path):
    with pytest.raises(CommandError, match="--map expects field=column"):
        call_command("import_catalog", "--file", str(write(tmp_path, "p.csv", PRODUCTS_CSV)), "--map", "oops")
