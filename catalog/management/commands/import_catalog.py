"""manage.py import_catalog: a preset dataset, or any CSV / JSONL file with a column mapping."""

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.importers import ImportAborted, ImportReport, InteractionMapping, ProductMapping
from catalog.importers.presets import PRESETS
from catalog.services import import_file, import_preset


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field or not column:
            raise CommandError(f"--map expects field=column, got {pair!r}")
        mapping[field.strip()] = column.strip()
    return mapping


class Command(BaseCommand):
    help = (
        "Import products or interactions. Presets: "
        + ", ".join(PRESETS)
        + ". Re-running updates, never duplicates. Bad rows are reported with file, row and column."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--preset", choices=sorted(PRESETS), action="append", help="Dataset preset (repeatable).")
        parser.add_argument("--file", type=Path, help="A CSV or JSONL file (optionally .gz) to import.")
        parser.add_argument("--kind", choices=["products", "interactions"], default="products")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=COLUMN",
            help="Column mapping for --file, e.g. --map sku=id --map title=name --map category_path=path.",
        )
        parser.add_argument("--category-separator", default=">")
        parser.add_argument("--currency", default="USD", help="Currency when the file has none.")
        parser.add_argument("--data-dir", type=Path, default=settings.SHOP_DATA_DIR)
        parser.add_argument("--limit", type=int, help="Import only the first N rows of each file.")
        parser.add_argument("--strict", action="store_true", help="All or nothing: any bad row aborts the import.")
        parser.add_argument("--report", type=Path, help="Write the full report (every bad row) as JSON here.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["preset"] and not options["file"]:
            raise CommandError("Give --preset NAME or --file PATH.")
        common = {"strict": options["strict"], "limit": options["limit"], "show_progress_bar": options["verbosity"] > 0}
        reports: list[ImportReport] = []
        try:
            for name in options["preset"] or []:
                reports += import_preset(name=name, data_dir=options["data_dir"], **common)
            if options["file"]:
                reports.append(self.import_one_file(options, common))
        except ImportAborted as error:
            self.write_report([error.report], options["report"])
            raise CommandError(str(error)) from error
        except FileNotFoundError as error:
            raise CommandError(str(error)) from error
        self.write_report(reports, options["report"])

    def import_one_file(self, options: dict[str, Any], common: dict[str, Any]) -> ImportReport:
        path: Path = options["file"]
        if not path.exists():
            raise CommandError(f"File not found: {path}")
        columns = parse_mapping(options["map"])
        mapping: ProductMapping | InteractionMapping
        if options["kind"] == "products":
            mapping = ProductMapping(
                category_separator=options["category_separator"], default_currency=options["currency"]
            )
        else:
            mapping = InteractionMapping()
        mapping.columns.update(columns)
        return import_file(path=path, kind=options["kind"], mapping=mapping, **common)

    def write_report(self, reports: list[ImportReport], report_path: Path | None) -> None:
        for report in reports:
            style = self.style.SUCCESS if report.ok else self.style.WARNING
            self.stdout.write(style(report.summary()))
            for error in report.errors[:20]:
                self.stdout.write(f"  {error}")
            if len(report.errors) > 20:
                self.stdout.write(f"  ... and {len(report.errors) - 20} more (use --report to see all)")
            for warning in report.warnings[:20]:
                self.stdout.write(f"  warning: {warning}")
            if len(report.warnings) > 20:
                self.stdout.write(f"  ... and {len(report.warnings) - 20} more warnings (use --report to see all)")
        if report_path:
            report_path.write_text(json.dumps([r.as_dict(max_errors=10**9) for r in reports], indent=2))
            self.stdout.write(f"Report written to {report_path}")
