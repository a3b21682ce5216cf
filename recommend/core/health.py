"""Readiness of the models: every active version's artifact is where the registry says, with a checksum.

Cheap on purpose (/readyz calls it on every probe): it checks the stored file exists and can be verified,
without reading or unpickling it; loading happens on first use and verifies the checksum then, and a
version this process failed to load that way (damaged file) is reported here until it loads.
"""

from typing import Any

from recommend.core.model_cache import unusable_artifacts
from recommend.core.registry import artifact_storage
from recommend.models import ModelVersion


def active_models_check() -> dict[str, Any]:
    """{"ok": bool, "models": {kind: "v3"}, "problems": [...]} for the active version of each kind."""
    problems: list[str] = []
    models: dict[str, str] = {}
    storage = artifact_storage()
    unusable = unusable_artifacts()
    active = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).order_by("kind")
    for version in active.only("pk", "kind", "version", "artifact_path", "artifact_checksum"):
        models[version.kind] = f"v{version.version}"
        if not version.artifact_path:
            continue  # kept in database tables (similar items, rules), nothing to load
        if not version.artifact_checksum:
            problems.append(f"{version.kind} v{version.version}: no checksum recorded, the artifact cannot load")
        elif not storage.exists(version.artifact_path):
            problems.append(f"{version.kind} v{version.version}: artifact {version.artifact_path} is missing")
        elif (version.pk, version.artifact_checksum) in unusable:
            why = unusable[(version.pk, version.artifact_checksum)]
            problems.append(f"{version.kind} v{version.version}: could not be loaded here: {why}")
    return {"ok": not problems, "models": models, "problems": problems}
