from django.apps import AppConfig


class RecommendConfig(AppConfig):
    name = "recommend"
    verbose_name = "Recommendations and jobs"

    def ready(self) -> None:
        from recommend import receivers  # noqa: F401
