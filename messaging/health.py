"""Whether the background side of the inbox is alive, as /healthz and /metrics report it.

Workers record that they are alive (`WorkerHeartbeat`, written by `Heartbeat` in each
`db_worker`); every time is the database's clock (`Now()`), so hosts with skewed clocks
cannot make a live worker look dead or a dead one alive.
"""

import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

# Often enough for a "not seen for N minutes" check (N >= 1), rarely enough to cost nothing:
# one UPDATE of one row every 15 s per worker.
BEAT_SECONDS = 15
# Worker ids are random per start, so rows of workers long gone are removed.
FORGET_AFTER = timedelta(days=1)


class WorkerHeartbeat(models.Model):
    """When a task worker (`manage.py db_worker`) was last seen alive, by the database's clock."""

    worker_id = models.CharField(max_length=64, unique=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return f"worker {self.worker_id}"


def beat(worker_id: str) -> None:
    """Record that worker `worker_id` (of this process) is alive now: one UPDATE, or an INSERT
    the first time."""
    if WorkerHeartbeat.objects.filter(worker_id=worker_id).update(last_seen=Now()):
        return
    WorkerHeartbeat.objects.filter(last_seen__lt=Now() - FORGET_AFTER).delete()
    WorkerHeartbeat.objects.create(
        worker_id=worker_id,
        host=socket.gethostname()[:255],
        pid=os.getpid(),
        started_at=Now(),
        last_seen=Now(),
    )


class Heartbeat:
    """Beats for a worker every BEAT_SECONDS from a thread of its own, so that a long task
    does not make a busy worker look dead. The thread ends with the process, so a worker
    that exits or is killed stops beating. A failed beat (database unreachable) is logged
    and tried again: it must never end the worker."""

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        beat(self.worker_id)  # at once, so the worker counts as seen when it starts
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=BEAT_SECONDS)

    def _run(self) -> None:
        try:
            while not self.stopped.wait(BEAT_SECONDS):
                close_old_connections()
                try:
                    beat(self.worker_id)
                except DatabaseError as exc:
                    logger.warning("worker heartbeat not recorded (%s)", type(exc).__name__)
        finally:
            connection.close()


def problems() -> dict[str, str]:
    """What is wrong with the background side, per check: empty when all is well.

    At most two small indexed queries; a check whose setting is 0 is off.
    """
    from messaging.models import WebhookEvent

    found = {}
    worker_minutes = settings.HEALTHZ_WORKER_MINUTES
    if (
        worker_minutes
        and not WorkerHeartbeat.objects.filter(
            last_seen__gte=Now() - timedelta(minutes=worker_minutes)
        ).exists()
    ):
        found["workers"] = f"no worker seen for {worker_minutes} minutes"
    backlog_minutes = settings.HEALTHZ_WEBHOOK_BACKLOG_MINUTES
    if (
        backlog_minutes
        and WebhookEvent.objects.filter(
            state=WebhookEvent.State.RECEIVED,
            received_at__lt=Now() - timedelta(minutes=backlog_minutes),
        ).exists()
    ):
        found["webhooks"] = f"a webhook has waited over {backlog_minutes} minutes"
    return found
