"""Scale-out on real services: two Celery workers on separate queues share PostgreSQL, Redis and the artifacts.

Worker A consumes only `training` (a training machine), worker B `inference,default` (the other machines), as
in the README's production layout. A trains the classifier; B classifies with the model A trained, read through
the artifact storage into its own VAR_DIR, and runs the default-queue jobs. Each job records the worker that
claimed it (`Job.worker`, the Celery node name); plain tasks are told apart by the workers' logs.

The session worker of conftest (all three queues) may be alive on the same broker and would take these
messages. So this test, its two workers and its pings use a key prefix of their own on that broker
(CELERY_BROKER_KEY_PREFIX, kombu's `global_keyprefix`: queue lists, bindings and the broadcast channel of
pings), and neither side sees the other's messages. Another Redis database would not do as simply: Celery
reads the CELERY_BROKER_URL environment variable before `broker_url` in its own conf (celery.app.utils), so a
second app or a changed `broker_url` in this process still pings and sends on the session broker.
"""

import base64
import hashlib
import json
import time
import uuid
from pathlib import Path

import pytest

from catalog.importers import ProductMapping
from catalog.models import Product
from catalog.services import import_file
from recommend.core.job_registry import RUN_JOB_TASK
from recommend.core.jobs import job_create
from recommend.core.registry import artifact_storage
from recommend.models import CategorySuggestion, Job, ModelVersion
from tests.factories import ProductFactory
from tests.integration.conftest import start_celery_worker, stop_celery_worker
from tests.integration.test_classification_worker import labelled_catalog

pytestmark = pytest.mark.django_db(transaction=True)

CLASSIFY_TASK = "recommend.classification.tasks.classify_products"


class Cluster:
    """The two workers of this test: separate VAR_DIRs (separate machines), one shared artifact storage."""

    def __init__(self, *, db, tmp_path: Path, prefix: str, artifacts: Path) -> None:
        self.db, self.tmp_path, self.prefix, self.artifacts = db, tmp_path, prefix, artifacts
        self.processes: dict[str, object] = {}
        self.suffix = uuid.uuid4().hex[:6]

    def name(self, role: str) -> str:
        return f"scaleout-{role}-{self.suffix}"

    def log(self, role: str) -> Path:
        return self.tmp_path / f"{role}.log"

    def var_dir(self, role: str) -> Path:
        return self.tmp_path / f"{role}-var"

    def start(self, role: str, queues: str) -> None:
        self.processes[role] = start_celery_worker(
            db=self.db,
            log_path=self.log(role),
            name=self.name(role),
            queues=queues,
            env_extra={
                "CELERY_BROKER_KEY_PREFIX": self.prefix,
                "VAR_DIR": str(self.var_dir(role)),
                "ARTIFACT_ROOT": str(self.artifacts),
            },
        )

    def stop(self, role: str) -> None:
        process = self.processes.pop(role, None)
        if process is not None:
            stop_celery_worker(process)

    def logs(self) -> str:
        parts = []
        for role in ("training", "serving"):
            path = self.log(role)
            if path.exists():
                parts.append(f"--- worker {role} ({path}) ---\n{path.read_text()[-6000:]}")
        return "\n".join(parts)


@pytest.fixture
def cluster(real_services, private_broker, tmp_path):
    prefix, _ = private_broker
    cluster = Cluster(db=real_services, tmp_path=tmp_path, prefix=prefix, artifacts=tmp_path / "artifacts")
    yield cluster
    for role in list(cluster.processes):
        cluster.stop(role)


def wait_for(cluster, condition, what, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s\n{cluster.logs()}")


def finished(job_id):
    return lambda: Job.objects.get(pk=job_id).status in ("done", "failed", "cancelled")


def waiting_jobs(client, prefix, queue):
    """Ids of the jobs whose messages sit in a queue of the private broker, not taken by any worker.

    Kombu keeps a Redis list per queue (and priority); each item is a JSON message with a base64 body.
    """
    ids = []
    for key in client.scan_iter(match=f"{prefix}{queue}*"):
        if client.type(key) != b"list":
            continue
        for raw in client.lrange(key, 0, -1):
            message = json.loads(raw)
            if message["headers"].get("task") == RUN_JOB_TASK:
                args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
                ids.append(args[0])
    return ids


def test_training_and_serving_workers_on_separate_queues(cluster, private_broker, tmp_path):
    prefix, broker = private_broker
    nodes = labelled_catalog(per_leaf=30)
    # Not categorised yet; no classifier is active, so saving them sends nothing.
    phone = ProductFactory(sku="NEW-1", title="Nova Android Smartphone", brand=None, category=None)
    skillet = ProductFactory(sku="NEW-2", title="Acme Cookware Skillet", brand=None, category=None)

    # Worker A alone: it trains, and leaves the inference and default work where it is.
    cluster.start("training", queues="training")
    classify = job_create(kind=Job.Kind.CLASSIFY, params={"product_ids": [phone.pk, skillet.pk]})
    rebuild = job_create(kind=Job.Kind.REBUILD_TREE)
    train = job_create(
        kind=Job.Kind.TRAIN_CLASSIFIER,
        # force: a tiny catalog where the TF-IDF baseline ties; the test is about the queues, not the margin.
        params={"demo": True, "epochs": 15, "config": {"validation_fraction": 0}, "force": True},
    )
    wait_for(cluster, finished(train.pk), "the training job on worker A", timeout=120)
    train.refresh_from_db()
    assert train.status == "done", f"{train.error}\n{cluster.logs()}"
    assert train.worker.startswith(cluster.name("training") + "@"), train.worker
    time.sleep(1.0)  # A is idle: anything it could take from inference or default it would have taken by now
    for job in (classify, rebuild):
        job.refresh_from_db()
        assert (job.status, job.attempts, job.worker) == ("queued", 0, ""), (job.kind, job.status, job.worker)
    assert waiting_jobs(broker, prefix, "inference") == [classify.pk]
    assert waiting_jobs(broker, prefix, "default") == [rebuild.pk]

    version = ModelVersion.objects.get(kind="classifier", status="active")
    assert artifact_storage().exists(version.artifact_path)  # the shared storage, not A's own VAR_DIR

    # Worker B joins: it takes the waiting work and classifies with the model trained on A.
    cluster.start("serving", queues="inference,default")
    for job in (classify, rebuild):
        wait_for(cluster, finished(job.pk), f"the {job.kind} job on worker B")
        job.refresh_from_db()
        assert job.status == "done", f"{job.error}\n{cluster.logs()}"
        assert job.worker.startswith(cluster.name("serving") + "@"), job.worker
    phone.refresh_from_db()
    skillet.refresh_from_db()
    assert phone.category == nodes[("Electronics", "Phones")] and phone.category_source == "automatic"
    assert skillet.category == nodes[("Home", "Kitchen")]
    served = cluster.var_dir("serving") / "model_cache" / "classifier" / f"v{version.version}"
    copies = list(served.iterdir())  # B downloaded the artifact from the storage into its own VAR_DIR
    assert len(copies) == 1 and hashlib.sha256(copies[0].read_bytes()).hexdigest() == version.artifact_checksum

    # The automatic path: an import sends classify tasks to the inference queue, and B runs them.
    feed = tmp_path / "new_products.csv"
    feed.write_text("sku,title,category_path\nNEW-3,Blue Acme Ultrabook Notebook,\nNEW-4,Classic Red Gown Frock,\n")
    import_file(path=feed, kind="products", mapping=ProductMapping())
    imported = Product.objects.filter(sku__in=["NEW-3", "NEW-4"])
    wait_for(
        cluster,
        lambda: CategorySuggestion.objects.filter(product__in=imported).values("product").distinct().count() == 2,
        "classification of the imported products on worker B",
    )
    assert Product.objects.get(sku="NEW-3").category == nodes[("Electronics", "Laptops")]
    assert Product.objects.get(sku="NEW-4").category == nodes[("Clothing", "Dresses")]
    ran = f"Task {CLASSIFY_TASK}["  # the worker logs "Task <name>[<id>] received" / "succeeded"
    assert ran in cluster.log("serving").read_text() and ran not in cluster.log("training").read_text()

    # Worker B alone: a training job waits for a training worker.
    cluster.stop("training")
    retrain = job_create(kind=Job.Kind.TRAIN_CLASSIFIER, params={"force": True, "demo": True, "epochs": 1})
    wait_for(cluster, lambda: retrain.pk in waiting_jobs(broker, prefix, "training"), "the training message", 10)
    time.sleep(1.0)  # B is idle: it would have taken the job by now if it consumed `training`
    retrain.refresh_from_db()
    assert (retrain.status, retrain.attempts, retrain.worker) == ("queued", 0, "")
    assert retrain.pk in waiting_jobs(broker, prefix, "training")
