"""Which jobs `manage.py setup_demo` runs after the import, in order. Capabilities add their job kinds here."""

from recommend.models import Job

# Classification first (a small fast model, params {"demo": True}, then the products without a
# category), so the similar-items build embeds the final category paths.
DEMO_MODEL_JOBS: list[str] = [Job.Kind.TRAIN_CLASSIFIER, Job.Kind.CLASSIFY, Job.Kind.BUILD_SIMILAR]
