"""Work a data change needs is stored with the change (recommend.DerivedWork) until a worker did it: a message the
broker accepted and then lost (Redis restarted empty) is sent again by the sweep, and the work gets done."""

import pytest
from celery import current_app
from django.db import transaction

from catalog.models import Product
from recommend.classification import receivers as classification_receivers
from recommend.classification import tasks as classification_tasks
from recommend.classification.tasks import classify_products
from recommend.core import jobs, outbox
from recommend.core.jobs import job_sweep
from recommend.models import DerivedWork, Job
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


class LossyBroker:
    """Takes every message and loses the first sends (Redis flushed); later ones are delivered to a worker that
    runs the task at once (with its task id, so the task_postrun receiver sees what a real worker's sees)."""

    def __init__(self, lose: int) -> None:
        self.lose, self.sent = lose, []

    def apply_async(self, args, queue, task_id=None, **kwargs):
        self.deliver(classify_products.name, args, task_id)

    def send_task(self, name, args=None, queue=None, task_id=None, **kwargs):
        self.deliver(name, args, task_id)

    def deliver(self, name, args, task_id):
        self.sent.append((name, args))
        if len(self.sent) > self.lose:
            current_app.tasks[name].apply(args=args, task_id=task_id)


@pytest.fixture
def celery_mode(settings, monkeypatch):
    """A broker is configured (no eager run); what it does with messages is up to each test's LossyBroker."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(classification_receivers, "classifier_active", lambda: True)
    monkeypatch.setattr(outbox, "queue_size", lambda queue: 0)  # the lost message is not waiting in its queue
    classified = []
    monkeypatch.setattr(classification_tasks, "products_classify", lambda product_ids: classified.extend(product_ids))

    def use(broker):
        monkeypatch.setattr(classify_products, "apply_async", broker.apply_async)
        monkeypatch.setattr(jobs.current_app, "send_task", broker.send_task)
        return broker

    return use, classified


def test_work_the_broker_lost_is_sent_again_by_the_sweep_and_done(
    celery_mode, settings, django_capture_on_commit_callbacks
):
    use, classified = celery_mode
    broker = use(LossyBroker(lose=1))
    with django_capture_on_commit_callbacks(execute=True):
        product = ProductFactory(title="Blue android phone")

    assert broker.sent == [(classify_products.name, [[product.pk]])] and classified == []
    work = DerivedWork.objects.get()
    assert work.sends == 1 and work.sent_at is not None and work.args == [[product.pk]]
    assert job_sweep()["derived_resent"] == 0  # not yet waiting DERIVED_WORK_RESEND_SECONDS

    settings.DERIVED_WORK_RESEND_SECONDS = 0
    counts = job_sweep()

    assert counts["derived_resent"] == 1
    assert classified == [product.pk]
    assert not DerivedWork.objects.exists()  # the worker marked it done
    assert job_sweep()["derived_resent"] == 0


def test_delivered_work_leaves_no_row(celery_mode, django_capture_on_commit_callbacks):
    use, classified = celery_mode
    use(LossyBroker(lose=0))
    with django_capture_on_commit_callbacks(execute=True):
        product = ProductFactory(title="Red android phone")

    assert classified == [product.pk] and not DerivedWork.objects.exists()


def test_the_row_is_part_of_the_change_a_rolled_back_save_leaves_no_work(celery_mode):
    use, classified = celery_mode
    broker = use(LossyBroker(lose=0))
    with pytest.raises(RuntimeError), transaction.atomic():
        ProductFactory(title="Never stored")
        assert DerivedWork.objects.count() == 1
        raise RuntimeError("the write fails")

    assert not Product.objects.filter(title="Never stored").exists()
    assert not DerivedWork.objects.exists() and broker.sent == [] and classified == []


def test_work_still_waiting_behind_a_backlog_is_not_sent_twice(celery_mode, settings, monkeypatch):
    use, _ = celery_mode
    broker = use(LossyBroker(lose=10))
    DerivedWork.objects.create(task=classify_products.name, args=[[1]], queue="inference", sends=1)
    DerivedWork.objects.update(sent_at=outbox.timezone.now() - outbox.timedelta(seconds=400))
    settings.DERIVED_WORK_RESEND_SECONDS = 300
    monkeypatch.setattr(outbox, "queue_size", lambda queue: 25)  # the queue is busy: the message may be in it

    assert job_sweep()["derived_resent"] == 0 and broker.sent == []

    DerivedWork.objects.update(sent_at=outbox.timezone.now() - outbox.timedelta(seconds=300 * 6 + 1))
    assert job_sweep()["derived_resent"] == 1  # waiting far too long: sent again anyway


def test_work_sent_too_often_is_given_up_and_kept(celery_mode, settings):
    use, _ = celery_mode
    broker = use(LossyBroker(lose=10))
    settings.DERIVED_WORK_RESEND_SECONDS = 0
    DerivedWork.objects.create(task=classify_products.name, args=[[1]], queue="inference", sends=5, sent_at=None)

    assert job_sweep()["derived_resent"] == 0 and broker.sent == []
    assert DerivedWork.objects.get().given_up_at is not None


def test_a_queued_job_whose_message_was_lost_is_sent_again(celery_mode, settings, django_capture_on_commit_callbacks):
    use, _ = celery_mode
    broker = use(LossyBroker(lose=100))  # nothing delivered: the job stays queued
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_create(kind=Job.Kind.BUILD_SIMILAR, defer=True)
    job.refresh_from_db()
    assert job.message.startswith("queued on") and job.sent_at is not None
    assert job_sweep()["resent"] == 0

    settings.DERIVED_WORK_RESEND_SECONDS = 0
    assert job_sweep()["resent"] == 1
    assert [name for name, _ in broker.sent] == [jobs.RUN_JOB_TASK, jobs.RUN_JOB_TASK]
