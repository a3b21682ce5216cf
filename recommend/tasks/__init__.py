"""Celery tasks of recommend live in each package's tasks.py (recommend.core.tasks, recommend.<capability>.tasks).

Workers and beat import them by package (config.celery.task_packages), not through a list kept here, so no
capability's tasks can be left out of the workers (tests/unit/test_beat_schedule.py).
"""
