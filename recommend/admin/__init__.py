"""Admin of recommend: each capability's admin.py, imported here so Django's autodiscovery registers them."""

from recommend.bought_together import admin as bought_together_admin  # noqa: F401
from recommend.classification import admin as classification_admin  # noqa: F401
from recommend.core import experiment_admin as experiment_admin  # model experiments: arms, evidence, promote
from recommend.core import job_admin as job_admin
from recommend.core import model_admin  # noqa: F401  (model versions: compare, activate, roll back)
from recommend.duplicates import admin as duplicates_admin  # noqa: F401
from recommend.hierarchy import admin as hierarchy_admin  # noqa: F401
from recommend.sequential import admin as sequential_admin  # noqa: F401
from recommend.similarity import admin as similarity_admin  # noqa: F401
