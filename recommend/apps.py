from importlib import import_module

from django.apps import AppConfig

# Modules that register job handlers (recommend.core.jobs.job_handler) and signal receivers.
# A new capability adds its package's modules here.
HANDLER_MODULES = [
    "recommend.services.job_handlers",
    "recommend.services.classification",
    "recommend.services.similarity",
]


class RecommendConfig(AppConfig):
    name = "recommend"
    verbose_name = "Recommendations and jobs"

    def ready(self) -> None:
        from recommend import receivers  # noqa: F401

        for module in HANDLER_MODULES:
            import_module(module)
