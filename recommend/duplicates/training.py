"""Writes for learning from the shop: train a new duplicate-matcher version from labels or staff decisions.

Labels come from a JSONL file (``manage.py train_duplicate_scorer``) or from the admin's
decisions (merge = 1, "not a duplicate" = 0). The file is checked row by row before
anything is stored; the training runs as a `training`-queue job: fit on a train part,
threshold on a validation part, metrics on a test part stored on the model version, and
the version is activated only if it beats the active matcher on that same test part (F1) and
beats plain cosine similarity of the record embeddings (its cut chosen on the same validation
part) in per-pair accuracy on that test part: the paired comparison
(`recommend.ml.duplicates.versus_cosine`) is stored on the version and gates its activation
(`recommend.core.evaluation.activate_if_beats_baseline`).
"""

import json
import tarfile
import tempfile
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile

from recommend.core.evaluation import activate_if_beats_baseline, evaluation_store
from recommend.core.jobs import job_create
from recommend.core.progress import ProgressCallback
from recommend.core.registry import (
    artifact_storage,
    model_version_create,
    model_version_mark,
    model_version_save_artifact,
)
from recommend.duplicates.matchers import active_matcher
from recommend.models import DuplicatePair, Job, ModelVersion

LABELS_FOLDER = "duplicate_labels"


def labelled_pairs_from_file(*, path: Path) -> list[tuple[dict[str, Any], dict[str, Any], int]]:
    """Every row of a labelled JSONL file; raises LabelledFileError naming each bad row and column."""
    from recommend.ml.duplicates.labelled_file import parse_labelled_lines

    with open(path, encoding="utf-8") as handle:
        return parse_labelled_lines(handle, name=path.name)


def product_record(product: Any) -> dict[str, Any]:
    """A product as the matcher sees it (the same fields as a labelled file's sides)."""
    record: dict[str, Any] = {"title": product.title}
    if product.brand_id:
        record["brand"] = product.brand.name
    if product.price is not None:
        record["price"] = float(product.price)
    if product.description:
        record["description"] = product.description
    if product.category_id:
        record["category"] = [c.name for c in product.category.get_ancestors(include_self=True)]
    elif product.source_category_path:
        record["category"] = product.source_category_path
    return record


def labelled_pairs_from_decisions() -> list[tuple[dict[str, Any], dict[str, Any], int]]:
    """Staff decisions as labels: a merged pair is a duplicate (1), a dismissed one is not (0)."""
    decided = DuplicatePair.objects.exclude(status=DuplicatePair.Status.OPEN).select_related(
        "left__brand", "left__category", "right__brand", "right__category"
    )
    return [
        (product_record(pair.left), product_record(pair.right), int(pair.status == DuplicatePair.Status.MERGED))
        for pair in decided
    ]


def duplicate_training_start(
    *,
    source: str,
    pairs: list[tuple[dict[str, Any], dict[str, Any], int]] | None = None,
    method: str = "cross_encoder",
    epochs: int = 2,
    user: Any = None,
    force: bool = False,
) -> Job:
    """Queue a training job. File labels are stored first (through the artifacts storage, so a
    worker on another machine reads the same rows); decisions are read when the job runs."""
    params: dict[str, Any] = {"source": source, "method": method, "epochs": epochs, "force": force}
    if source == "file":
        if not pairs:
            raise ValueError("pairs: a file source needs its labelled pairs")
        rows = "\n".join(json.dumps({"left": a, "right": b, "label": y}) for a, b, y in pairs)
        name = artifact_storage().save(f"{LABELS_FOLDER}/{uuid.uuid4().hex}.jsonl", ContentFile(rows.encode()))
        params["labels"] = name
    return job_create(kind=Job.Kind.TRAIN_DUPLICATE_SCORER, params=params, user=user)


def _stored_labels(name: str) -> list[tuple[dict[str, Any], dict[str, Any], int]]:
    from recommend.ml.duplicates.labelled_file import parse_labelled_lines

    with artifact_storage().open(name, "rb") as handle:
        return parse_labelled_lines(handle.read().decode("utf-8").splitlines(), name=name)


def duplicate_matcher_train(
    *,
    pairs: list[tuple[dict[str, Any], dict[str, Any], int]],
    method: str = "cross_encoder",
    epochs: int = 2,
    source: str = "",
    progress: ProgressCallback | None = None,
    force: bool = False,
) -> ModelVersion:
    """Train, store and (if better than the active matcher and than embedding cosine on the same test part)
    activate a version."""
    from recommend.core import vectors as core_vectors
    from recommend.ml.duplicates.training import evaluate, train_matcher
    from recommend.ml.duplicates.versus_cosine import compare_with_cosine

    report = progress or (lambda fraction, message: None)
    version = model_version_create(
        kind=ModelVersion.Kind.DUPLICATE_SCORER, params={"method": method, "epochs": epochs, "source": source}
    )
    try:
        matcher, metrics, test = train_matcher(
            pairs,
            encoder=core_vectors.encode_texts,
            method=method,
            epochs=epochs,
            progress=report,
            device=settings.TORCH_DEVICE,
        )
        current = active_matcher()
        baseline = evaluate(current, test, core_vectors.encode_texts)
        metrics |= {f"active_test_{key}": value for key, value in baseline.items()}
        metrics["active_version"] = current.meta.get("model_version") or "default"
        metrics["labels"] = len(pairs)
        with tempfile.TemporaryDirectory() as folder:
            matcher.save(Path(folder) / "matcher")
            archive = Path(folder) / "matcher.tar"
            with tarfile.open(archive, "w") as bundle:
                bundle.add(Path(folder) / "matcher", arcname=".")
            model_version_save_artifact(version=version, local_path=archive)
        comparison, extra = compare_with_cosine(
            matcher, pairs, core_vectors.encode_texts, model=f"learned matcher ({method.replace('_', '-')})"
        )
        metrics |= extra
        better = metrics["test_f1"] > baseline["f1"]
        model_version_mark(version=version, status=ModelVersion.Status.READY, metrics=metrics)
        evaluation_store(
            version=version, comparison=comparison, cases_label=f"{comparison.cases} of your labelled pairs held out"
        )
        activated = (better or force) and activate_if_beats_baseline(version=version, force=force)
        version.refresh_from_db()
        model_version_mark(version=version, status=version.status, metrics={**version.metrics, "activated": activated})
        report(
            1.0,
            f"test F1 {metrics['test_f1']:.3f} vs active {baseline['f1']:.3f}, pair accuracy "
            f"{comparison.model_value:.3f} vs cosine {comparison.baseline_value:.3f}: "
            + ("activated" if activated else "kept the active one"),
        )
    except Exception:
        model_version_mark(version=version, status=ModelVersion.Status.FAILED)
        raise
    version.refresh_from_db()
    return version


def duplicate_training_run(*, params: Any, progress: ProgressCallback) -> ModelVersion:
    """The job's work: load the labels its params point to, then train."""
    pairs = _stored_labels(params.labels) if params.source == "file" else labelled_pairs_from_decisions()
    progress(0.02, f"{len(pairs)} labelled pairs from {params.source}")
    return duplicate_matcher_train(
        pairs=pairs,
        method=params.method,
        epochs=params.epochs,
        source=params.source,
        progress=progress,
        force=params.force,
    )
