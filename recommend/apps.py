from importlib import import_module

from django.apps import AppConfig

# Modules that register job handlers (recommend.core.jobs.job_handler): each capability's jobs.py.
# A new capability adds its package's jobs module here (and its receivers below, if it has any).
HANDLER_MODULES = [
    "recommend.core.catalog_jobs",
    "recommend.classification.jobs",
    "recommend.similarity.jobs",
    "recommend.duplicates.jobs",
    "recommend.bought_together.jobs",
    "recommend.sequential.jobs",
    "recommend.hierarchy.jobs",
]
# Modules whose @receiver functions connect to catalog/taxonomy signals when imported.
RECEIVER_MODULES = [
    "recommend.classification.receivers",
    "recommend.similarity.receivers",
    "recommend.bought_together.receivers",
    "recommend.hierarchy.receivers",
]


class RecommendConfig(AppConfig):
    name = "recommend"
    verbose_name = "Recommendations and jobs"

    def ready(self) -> None:
        for module in [*HANDLER_MODULES, *RECEIVER_MODULES]:
            import_module(module)
