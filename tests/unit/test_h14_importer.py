"""Importer reports what a spreadsheet user needs: a SKU repeated inside one file (both rows), an unterminated
quote (file, row, column; the rows after it still import), and no stray broker log line."""

import logging

import pytest
from django.core.management import call_command

from catalog.importers import ImportAborted, ProductMapping
from catalog.models import Product
from catalog.services import import_file

pytestmark = pytest.mark.django_db

MAPPING = {"sku": "sku", "title": "title", "price": "price"}


def run(tmp_path, text, **kwargs):
    path = tmp_path / "p.csv"
    path.write_text(text)
    return import_file(path=path, kind="products", mapping=ProductMapping(columns=dict(MAPPING)), **kwargs)


def test_a_sku_repeated_in_one_file_is_reported_naming_both_rows_and_the_later_row_wins(tmp_path):
    report = run(tmp_path, "sku,title,price\nS1,First title,1\nS2,Other,2\nS1,Second title,3\n")

    assert [(w.row, w.column) for w in report.warnings] == [(3, "sku")]
    assert "also on row 1" in report.warnings[0].reason and "later row" in report.warnings[0].reason
    assert Product.objects.get(sku="S1").title == "Second title"
    assert "1 warnings" in report.summary() and report.as_dict()["warning_count"] == 1


def test_a_sku_repeated_across_batches_is_reported_too(tmp_path, settings):
    settings.IMPORT_BATCH_SIZE = 2
    report = run(tmp_path, "sku,title,price\nS1,First,1\nS2,Other,2\nS3,Third,3\nS1,Again,4\n")

    assert [(w.row, "row 1" in w.reason) for w in report.warnings] == [(4, True)]


def test_strict_refuses_a_file_with_a_repeated_sku(tmp_path):
    with pytest.raises(ImportAborted) as aborted:
        run(tmp_path, "sku,title,price\nS1,First,1\nS1,Second,2\n", strict=True)

    [error] = aborted.value.report.errors
    assert (error.row, error.column) == (2, "sku") and "row 1" in error.reason
    assert not Product.objects.exists()


def test_an_unterminated_quote_is_reported_with_file_row_and_column(tmp_path):
    text = 'sku,title,price\nS1,"Blue shirt,12.5\nS2,Red shirt,10\nS3,"Green" shirt,5\nS4,Yellow shirt,1\n'
    report = run(tmp_path, text)

    [error] = report.errors
    assert (error.file, error.row, error.column) == ("p.csv", 1, "title")
    assert "quote" in error.reason and "lines 2-4" in error.reason
    assert list(Product.objects.values_list("sku", "title")) == [("S4", "Yellow shirt")]


def test_an_unterminated_quote_at_the_end_of_the_file_is_reported(tmp_path):
    report = run(tmp_path, 'sku,title,price\nS1,Fine,1\nS2,"Never closed,2\n')

    [error] = report.errors
    assert (error.row, error.column) == (2, "title")
    assert Product.objects.get().sku == "S1"


def test_quoted_values_with_commas_and_newlines_still_import(tmp_path):
    report = run(tmp_path, 'sku,title,price\nS1,"Shirt, blue\nlong sleeves",1\nS2,"Say ""hi""",2\n')

    assert report.ok
    assert Product.objects.get(sku="S1").title == "Shirt, blue\nlong sleeves"
    assert Product.objects.get(sku="S2").title == 'Say "hi"'


def test_the_command_prints_the_repeated_sku_warning(tmp_path, capsys):
    path = tmp_path / "p.csv"
    path.write_text("sku,title\nS1,First\nS1,Second\n")

    call_command("import_catalog", file=path, map=["sku=sku", "title=title"], verbosity=0)

    assert "warning: p.csv: row 2, column 'sku': SKU 'S1' is also on row 1" in capsys.readouterr().out


def test_eager_tasks_log_no_hostname_warning(caplog):
    from celery import current_app

    from recommend.classification.tasks import classify_products

    current_app._pool = None  # a fresh producer pool, as in a new `manage.py import_catalog` process
    with caplog.at_level(logging.WARNING):
        classify_products.apply_async(args=[[]], queue="inference")

    assert not [r for r in caplog.records if "No hostname" in r.getMessage()]
