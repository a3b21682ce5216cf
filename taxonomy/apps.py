from django.apps import AppConfig


class TaxonomyConfig(AppConfig):
    name = "taxonomy"
    verbose_name = "Taxonomy"

    def ready(self) -> None:
        from taxonomy import receivers  # noqa: F401
