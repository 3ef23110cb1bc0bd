"""The task worker `db_worker` runs: django-tasks-db's, made to outlive database outages.

The library's worker already records a task that raises (a bad payload, a Graph outage the
task does not handle itself) as failed and goes on to the next one. What ends it is a
database error in its own bookkeeping: claiming the next task, or recording a result when
the connection was cut mid-task. Here such an error closes the worker's connections and
waits, with capped exponential backoff and jitter, until the database answers again; then
the library's loop starts over. A task whose result could not be recorded stays "running"
until its lease is over: then the maintenance run fails it (`fail_orphaned_tasks`) and
`ingest.requeue_stranded` queues its webhook body again.

The library stamps `started_at` with the worker host's clock, not the database's; the lease
(TASK_LEASE_SECONDS, minutes) is compared with the database's clock and leaves room for any
skew between the two far beyond what NTP-synchronised hosts show.
"""

import logging
import random
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connections
from django.tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from messaging.db import database_now

logger = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 0.5


class ResilientWorker(Worker):
    def run(self) -> None:
        while self.running:
            try:
                super().run()
                return  # --batch or --max-tasks: done
            except DatabaseError as error:
                self.running_task = False
                self.wait_for_database(error)
            self.startup_delay = False

    def wait_for_database(self, error: DatabaseError) -> None:
        # The error's class only: its text may quote parameters of the failed statement.
        logger.warning(
            "Worker %s: database unavailable (%s); waiting for it to come back",
            self.worker_id,
            type(error).__name__,
        )
        started = time.monotonic()
        attempt = 0
        while self.running:
            connections.close_all()
            cap = min(settings.WORKER_DB_BACKOFF_MAX_SECONDS, FIRST_BACKOFF_SECONDS * 2**attempt)
            time.sleep(random.uniform(0, cap))  # noqa: S311 - jitter, not secrecy
            attempt += 1
            if database_answers():
                logger.info(
                    "Worker %s: database is back after %.0f s",
                    self.worker_id,
                    time.monotonic() - started,
                )
                return


def database_answers() -> bool:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        connections.close_all()
        return False
    return True


class WorkerLost(Exception):
    """Recorded as the error of a task whose worker died before it finished."""


def fail_orphaned_tasks(now: datetime | None = None) -> int:
    """Fail the tasks "running" for longer than TASK_LEASE_SECONDS: their worker was killed
    or lost the database mid-task, and the library would leave them running for good."""
    now = now or database_now()
    failed = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING,
        started_at__lt=now - timedelta(seconds=settings.TASK_LEASE_SECONDS),
    ).update(
        status=TaskResultStatus.FAILED,
        finished_at=now,
        exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
        traceback="Its worker stopped before the task finished (lease over).",
        return_value=None,
    )
    if failed:
        logger.warning("%d tasks outlived their lease (worker gone): marked failed", failed)
    return failed
