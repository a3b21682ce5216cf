"""Training a duplicate matcher from a labelled file and from staff decisions (SQLite, inline jobs)."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from recommend.duplicates.matchers import active_matcher
from recommend.duplicates.training import duplicate_training_start, labelled_pairs_from_decisions
from recommend.models import DuplicatePair, Job, ModelVersion
from tests.factories import BrandFactory, ProductFactory
from tests.fakes import bag_of_words

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def hashing_encoder(monkeypatch):  # type: ignore[no-untyped-def]
    """Bag-of-words vectors instead of MiniLM: the training path is under test, not the encoder."""
    from recommend.core import vectors

    monkeypatch.setattr(vectors, "encode_texts", lambda texts, progress=None: bag_of_words(texts, dimension=64))


def labelled_rows(groups: int = 30) -> list[dict]:
    """Two shops' wording of one phone (1) and neighbouring models of the same brand (0)."""
    rows = []
    for g in range(groups):
        brand = f"Brand{g % 5}"
        left = {"title": f"{brand} Phone X{g}00 64GB Black", "brand": brand, "price": 100 + g}
        rows.append({"left": left, "right": {"title": f"{brand.lower()} x-{g}00 phone 64 gb"}, "label": 1})
        other = {"title": f"{brand} Phone X{g + 1}50 128GB", "brand": brand, "price": 180 + g}
        rows.append({"left": left, "right": other, "label": 0})
    return rows


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_bad_labelled_file_names_rows_and_changes_nothing(tmp_path: Path) -> None:
    rows = [*labelled_rows(3), {"left": {"title": "a"}, "right": {"title": "b"}, "label": "yes"}, "{oops"]
    with pytest.raises(CommandError) as caught:
        call_command("train_duplicate_scorer", "--input", str(write_jsonl(tmp_path / "bad.jsonl", rows)))
    message = str(caught.value)
    assert "bad.jsonl: row 7, column 'label': 'yes' is not 0 or 1" in message
    assert "bad.jsonl: row 8, column '-': invalid JSON" in message
    assert not ModelVersion.objects.filter(kind=ModelVersion.Kind.DUPLICATE_SCORER).exists()
    assert not Job.objects.filter(kind=Job.Kind.TRAIN_DUPLICATE_SCORER).exists()


def train_from_file(labels: Path, capture) -> str:  # type: ignore[no-untyped-def]
    """The command as a user runs it; the inline job runs when its transaction commits."""
    out = StringIO()
    with capture(execute=True):
        call_command("train_duplicate_scorer", "--input", str(labels), "--method", "features", stdout=out)
    return out.getvalue()


def test_labelled_file_trains_an_active_version_used_by_score_pairs(
    tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    labels = write_jsonl(tmp_path / "labels.jsonl", labelled_rows())
    train_from_file(labels, django_capture_on_commit_callbacks)
    version = ModelVersion.objects.get(kind=ModelVersion.Kind.DUPLICATE_SCORER)
    assert version.metrics["test_f1"] >= version.metrics["active_test_f1"]
    assert {"test_precision", "test_recall", "threshold", "train_pairs", "test_pairs"} <= set(version.metrics)
    assert version.status == ModelVersion.Status.ACTIVE, version.metrics
    assert active_matcher().meta["model_version"] == version.pk

    pairs = tmp_path / "pairs.jsonl"
    write_jsonl(pairs, [{"left": r["left"], "right": r["right"]} for r in labelled_rows(4)])
    call_command("score_pairs", "--input", str(pairs), "--output", str(tmp_path / "scores.jsonl"), stdout=StringIO())
    scores = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert [s["duplicate"] for s in scores] == [True, False] * 4


def test_second_version_is_not_activated_when_not_better(tmp_path: Path, django_capture_on_commit_callbacks) -> None:
    labels = write_jsonl(tmp_path / "labels.jsonl", labelled_rows())
    train_from_file(labels, django_capture_on_commit_callbacks)
    train_from_file(labels, django_capture_on_commit_callbacks)
    first, second = ModelVersion.objects.filter(kind=ModelVersion.Kind.DUPLICATE_SCORER).order_by("version")
    assert first.status == ModelVersion.Status.ACTIVE
    assert second.status == ModelVersion.Status.READY and second.metrics["activated"] is False


def test_staff_decisions_become_labels_and_train(django_capture_on_commit_callbacks) -> None:
    brand = BrandFactory(name="Acme")
    for g in range(30):
        a = ProductFactory(title=f"Acme Phone X{g}00 64GB", brand=brand, price=100 + g)
        same = ProductFactory(title=f"acme x-{g}00 phone 64 gb", brand=None, price=101 + g)
        other = ProductFactory(title=f"Acme Phone X{g + 1}50 128GB", brand=brand, price=200 + g)
        DuplicatePair.objects.create(left=a, right=same, score=0.5, status=DuplicatePair.Status.MERGED)
        DuplicatePair.objects.create(left=a, right=other, score=0.5, status=DuplicatePair.Status.NOT_DUPLICATE)
    DuplicatePair.objects.create(left=a, right=ProductFactory(), score=0.5)  # open: not a label
    pairs = labelled_pairs_from_decisions()
    assert len(pairs) == 60 and sum(label for *_, label in pairs) == 30
    with django_capture_on_commit_callbacks(execute=True):
        job = duplicate_training_start(source="decisions", method="features")
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.error
    assert job.result["labels"] == 60 and job.result["test_f1"] > 0.8
