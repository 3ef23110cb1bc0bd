"""Webhook ingestion: store the raw body once, then apply its events idempotently.

Meta → signature check (views) → `accept()` stores the raw body and queues its application,
in one commit, before the 200 → the `apply_stored_webhook` task (run by `db_worker`) parses it
into normalised events and applies each one (messaging.ingest.apply). The request does the
least work that makes the body durable: a slow or failing apply, a lock wait or a burst of a
week of redeliveries never delays Meta's acknowledgement, and a worker that dies mid-apply
leaves the body stored, unapplied, for the next run. `receive()` stores and applies at once,
in the calling process (demo data, the console transport's simulated statuses).

Every step is safe to repeat: Meta delivers at least once, in any order, and
`manage.py replay_webhooks` re-applies stored bodies.

The package, by job: this module stores and queues (the task is defined here because queued
rows name it by this module's path, `messaging.ingest.apply_stored_webhook`, and must still
find it after an upgrade); `apply` applies a body, item by item where it must; `bulk`
applies its ordinary messages and statuses set-based; `statuses` moves outbound messages'
statuses; `annotations` applies reactions, edits and revokes to their targets.
"""

import hashlib
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from messaging.db import database_now, insert_new
from messaging.ingest.apply import apply_webhook_event
from messaging.locks import hold_for_applying
from messaging.models import WebhookEvent
from messaging.queues import WEBHOOKS

logger = logging.getLogger(__name__)


# Applying stored bodies goes before everything but sending (messaging.queues). Its own
# queue lets a deployment give it workers of its own (`db_worker --queue-name webhooks`).
WEBHOOK_QUEUE, WEBHOOK_PRIORITY = WEBHOOKS


def accept(body: bytes) -> WebhookEvent:
    """Store a verified webhook body (once per distinct body) and queue its application.

    The raw row and its task row are inserted in one transaction: they commit together,
    before the caller answers 200, so a stored body always has its task (the task row stays
    in our database, hence no `on_commit`). A redelivery of a body that failed is queued
    again: Meta retrying is a natural moment to try once more. Database errors propagate:
    the caller answers 5xx, nothing was kept, and Meta retries.
    """
    with transaction.atomic():
        event, new = store(body)
        if new or event.state == WebhookEvent.State.FAILED:
            queue_apply(event.pk)
    return event


def receive(body: bytes) -> WebhookEvent:
    """Store a body and apply it now, in this process and transaction."""
    with transaction.atomic():
        event, new = store(body)
        if new:
            hold_for_applying()
            return apply_webhook_event(event)
    return apply_stored(event.pk) or event


def store(body: bytes) -> tuple[WebhookEvent, bool]:
    """The stored row for this body, and whether this call inserted it."""
    digest = hashlib.sha256(body).hexdigest()
    event = WebhookEvent(body=body, body_sha256=digest)
    if insert_new(WebhookEvent, [event], returning=("id",)):
        return event, True
    return WebhookEvent.objects.only("pk", "state").get(body_sha256=digest), False


def queue_apply(event_id: int) -> None:
    apply_stored_webhook.enqueue(event_id)


@task(queue_name=WEBHOOK_QUEUE, priority=WEBHOOK_PRIORITY)
def apply_stored_webhook(event_id: int) -> None:
    apply_stored(event_id)


def apply_stored(event_id: int, *, again: bool = False) -> WebhookEvent | None:
    """Apply a stored body unless it is already applied (`again`: even then, as replays by
    id do) or gone (erased, purged).

    The row lock makes duplicate tasks and concurrent replays of one body take turns; the
    second finds it processed and does nothing.
    """
    with transaction.atomic():
        hold_for_applying()
        event = WebhookEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None or (event.state == WebhookEvent.State.PROCESSED and not again):
            return event
        return apply_webhook_event(event)


def requeue_stranded(
    now: datetime | None = None,
    *,
    older_than: timedelta = timedelta(minutes=5),
    limit: int = 1000,
) -> int:
    """Queue again the bodies left unapplied without a live task of their own: theirs failed
    outright (the database went away mid-apply), or its worker died mid-apply and the task
    row is "running" past its lease. Body by body, so it works under steady load too; a body
    whose own task is still waiting, however long the backlog, is not stranded, and queueing
    it twice would only lengthen the line. At most `limit` bodies per run, oldest first.
    By the database's clock: `received_at` is the web host's, `started_at` the worker
    host's, and the margins (minutes) leave room for the skew between them."""
    now = now or database_now()
    lease = timedelta(seconds=settings.TASK_LEASE_SECONDS)
    live_task = (
        DBTaskResult.objects.filter(
            Q(status=TaskResultStatus.READY)
            | Q(status=TaskResultStatus.RUNNING, started_at__gte=now - lease),
            task_path=apply_stored_webhook.module_path,
        )
        # Compared as text: a cast to a number could fail on another task's first argument
        # (PostgreSQL need not test task_path first).
        .alias(event_id=Cast(KT("args_kwargs__args__0"), TextField()))
        .filter(event_id=Cast(OuterRef("pk"), TextField()))
    )
    stranded = list(
        WebhookEvent.objects.filter(
            state=WebhookEvent.State.RECEIVED, received_at__lt=now - older_than
        )
        .exclude(Exists(live_task))
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    for event_id in stranded:
        queue_apply(event_id)
    if stranded:
        logger.warning("%d stored webhook bodies had no task: queued again", len(stranded))
    return len(stranded)
