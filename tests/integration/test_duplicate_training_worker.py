"""End to end on real services: staff decisions in the admin and a labelled file train a matcher in the worker."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from recommend.models import DuplicatePair, Job, ModelVersion
from tests.factories import BrandFactory, ProductFactory, StaffFactory
from tests.integration.test_worker_jobs import watch

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shared_artifacts(celery_worker_process, settings):  # type: ignore[no-untyped-def]
    """The test process and the worker must see one artifact store (as web and workers do in production)."""
    environ = Path(f"/proc/{celery_worker_process.pid}/environ").read_bytes().split(b"\0")
    var_dir = next(item.split(b"=", 1)[1].decode() for item in environ if item.startswith(b"VAR_DIR="))
    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(Path(var_dir) / "artifacts")},
        },
    }
    return Path(var_dir)


def decided_catalog(groups: int = 20) -> list[DuplicatePair]:
    brand = BrandFactory(name="Acme")
    open_pairs = []
    for g in range(groups):
        a = ProductFactory(title=f"Acme Phone X{g}00 64GB", brand=brand, price=100 + g)
        same = ProductFactory(title=f"acme x-{g}00 phone 64 gb", brand=None, price=101 + g)
        other = ProductFactory(title=f"Acme Phone X{g + 1}50 128GB", brand=brand, price=200 + g)
        status = DuplicatePair.Status.OPEN if g < 2 else None
        kwargs = {"status": status} if status else {}
        twin = DuplicatePair.objects.create(left=a, right=same, score=0.6, **kwargs)
        miss = DuplicatePair.objects.create(left=a, right=other, score=0.5, **kwargs)
        if g < 2:
            open_pairs += [twin, miss]
        else:
            DuplicatePair.objects.filter(pk=twin.pk).update(status=DuplicatePair.Status.MERGED)
            DuplicatePair.objects.filter(pk=miss.pk).update(status=DuplicatePair.Status.NOT_DUPLICATE)
    return open_pairs


def test_admin_decisions_train_a_new_version_in_the_worker(client, shared_artifacts) -> None:
    twin, miss, *_ = decided_catalog()
    client.force_login(StaffFactory(is_superuser=True))
    url = reverse("admin:recommend_duplicatepair_changelist")
    client.post(url, {"action": "not_duplicate", "_selected_action": [miss.pk]})
    client.post(url, {"action": "merge_keep_left", "_selected_action": [twin.pk]})

    client.post(url, {"action": "train_from_decisions", "_selected_action": [twin.pk]})

    job = Job.objects.get(kind=Job.Kind.TRAIN_DUPLICATE_SCORER)
    job, _ = watch(job.pk, timeout=600)
    assert job.status == "done", job.error
    version = ModelVersion.objects.get(kind=ModelVersion.Kind.DUPLICATE_SCORER)
    assert version.metrics["labels"] == 38 and version.metrics["method"] == "cross_encoder"
    assert version.status == ("active" if version.metrics["activated"] else "ready")
    assert 0.0 <= version.metrics["test_f1"] <= 1.0 and version.artifact_checksum


def test_labelled_file_trains_in_the_worker_and_score_pairs_uses_it(shared_artifacts, tmp_path) -> None:
    # A house rule the out-of-the-box scorer cannot know (it says a size variant is another product): this shop
    # lists every storage size of a model as one product. Only a version trained on the file beats the default.
    rows = []
    for g in range(40):
        left = {"title": f"Brand{g % 5} Phone X{g}00 64GB", "brand": f"Brand{g % 5}"}
        size_variant = {"title": f"Brand{g % 5} Phone X{g}00 128GB", "brand": f"Brand{g % 5}"}
        other_model = {"title": f"Brand{g % 5} Phone X{g + 1}50 64GB", "brand": f"Brand{g % 5}"}
        rows.append({"left": left, "right": size_variant, "label": 1})
        rows.append({"left": left, "right": other_model, "label": 0})
    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n".join(json.dumps(r) for r in rows))

    # --force: a tiny labelled file where plain cosine ties the matcher; the test is about the worker path.
    call_command("train_duplicate_scorer", "--input", str(labels), "--method", "features", "--force", stdout=StringIO())

    job, _ = watch(Job.objects.get(kind=Job.Kind.TRAIN_DUPLICATE_SCORER).pk, timeout=300)
    assert job.status == "done", job.error
    assert ModelVersion.objects.get(kind=ModelVersion.Kind.DUPLICATE_SCORER).status == "active"
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join(json.dumps({"left": r["left"], "right": r["right"]}) for r in rows[:4]))
    call_command("score_pairs", "--input", str(pairs), "--output", str(tmp_path / "out.jsonl"), stdout=StringIO())
    scores = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [s["duplicate"] for s in scores] == [True, False, True, False]
