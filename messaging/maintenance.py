"""Periodic upkeep, run by the task worker itself: one self-rescheduling task.

Every `db_worker` makes sure a maintenance run is queued when it starts (see the db_worker
command in this app); each run queues the next one MAINTENANCE_INTERVAL_SECONDS later unless
another is already waiting, so several workers converge on a single chain. Each run calls
the jobs registered in messaging.hooks (messaging's own, then those of the apps above it).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.tasks import TaskResultStatus, task
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from messaging.hooks import maintenance_jobs
from messaging.queues import MAINTENANCE

logger = logging.getLogger(__name__)


def waiting_runs() -> QuerySet[DBTaskResult]:
    return DBTaskResult.objects.filter(
        task_path=f"{run_maintenance.module_path}", status=TaskResultStatus.READY
    )


def ensure_scheduled(delay: timedelta | None = None) -> bool:
    """Queue a maintenance run unless one is already waiting."""
    if waiting_runs().exists():
        return False
    interval = timedelta(seconds=settings.MAINTENANCE_INTERVAL_SECONDS)
    # The host's clock, as django-tasks-db reads `run_after` with the worker host's: an
    # interval late or early by the hosts' skew is harmless here.
    run_maintenance.using(
        run_after=timezone.now() + (interval if delay is None else delay)
    ).enqueue()
    return True


@task(queue_name=MAINTENANCE.name, priority=MAINTENANCE.priority)
def run_maintenance() -> None:
    try:
        for job in maintenance_jobs():
            job()
    finally:
        ensure_scheduled()
