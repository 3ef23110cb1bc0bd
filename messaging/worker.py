"""The task worker `db_worker` runs: django-tasks-db's, made to outlive database outages.

The library's worker already records a task that raises (a bad payload, a Graph outage the
task does not handle itself) as failed and goes on to the next one. What ends it is a
database error in its own bookkeeping: claiming the next task, or recording a result when
the connection was cut mid-task. Here such an error closes the worker's connections and
waits, with capped exponential backoff and jitter, until the database answers again; then
the library's loop starts over. A task whose result could not be recorded stays "running"
until the maintenance run's lease sweep (messaging.leases) fails it and queues its body again.
"""

import logging
import random
import time

from django.conf import settings
from django.db import DatabaseError, connections
from django_tasks_db.management.commands.db_worker import Worker

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
