"""Small tasks without a broker run in the embedded task thread, after the request, not inside it."""

import threading

from recommend.core import task_send as module


class FakeTask:
    name = "fake"

    def __init__(self):
        self.ran_in: list[str] = []
        self.done = threading.Event()

    def apply(self, args, throw=False):
        self.ran_in.append(threading.current_thread().name)
        self.done.set()

    def apply_async(self, args, queue):
        self.apply(args)


def test_embedded_mode_runs_the_task_in_the_background_thread(settings):
    settings.JOB_RUN_INLINE = False
    task = FakeTask()

    assert module.task_send(task, args=[1], queue="inference", fallback=lambda: None)

    assert task.done.wait(10)
    assert task.ran_in[0].startswith("embedded-tasks")


def test_inline_mode_runs_it_at_once_in_the_caller(settings):
    task = FakeTask()

    module.task_send(task, args=[1], queue="inference", fallback=lambda: None)

    assert task.ran_in == [threading.current_thread().name]


class FailingTask(FakeTask):
    def apply(self, args, throw=False):
        raise RuntimeError("cannot schedule new futures after interpreter shutdown")


def test_work_that_fails_in_the_background_is_kept_by_the_fallback(settings):
    settings.JOB_RUN_INLINE = False
    kept = threading.Event()

    module.task_send(FailingTask(), args=[1], queue="inference", fallback=kept.set)

    assert kept.wait(10)
