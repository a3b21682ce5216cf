"""Admin of recommend, one module per capability; importing them registers the ModelAdmins."""

from recommend.admin import (
    classification,  # noqa: F401
    similarity,  # noqa: F401
)
from recommend.core import job_admin as job_admin
from recommend.core import model_admin  # noqa: F401  (model versions: compare, activate, roll back)
