"""How recommend hears about catalog and taxonomy changes: one module of receivers per capability.

Catalog and taxonomy never import recommend; recommend connects to their signals here (imported
from RecommendConfig.ready) and enqueues its work on commit.
"""

from recommend.receivers import (
    classification,  # noqa: F401
    similarity,  # noqa: F401
)
