"""Webhook ingestion: store the raw body once, then apply its events idempotently.

Meta → signature check (views) → `accept()` stores the raw body and queues its application,
in one commit, before the 200 → the `apply_stored_webhook` task (run by `db_worker`) parses it,
with the other bodies waiting beside it (`apply_waiting`), into normalised events and applies
them (messaging.ingest.apply). The request does the
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
from django.db.models import Case, Exists, OuterRef, Q, TextField, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Length, Now
from django.tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from messaging.db import database_now, insert_new
from messaging.ingest.apply import apply_webhook_event, apply_webhook_events
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


# What one task applies at most: its own body and the oldest others waiting, together. A
# backlog of single-message bodies drains many times faster than body by body (one set-based
# apply, one commit and one task instead of a hundred), and a large body is applied alone.
BATCH_BODIES = 100
BATCH_BYTES = 1_000_000


@task(queue_name=WEBHOOK_QUEUE, priority=WEBHOOK_PRIORITY)
def apply_stored_webhook(event_id: int) -> None:
    apply_waiting(event_id)


def apply_waiting(
    event_id: int, *, max_bodies: int = BATCH_BODIES, max_bytes: int = BATCH_BYTES
) -> list[WebhookEvent]:
    """Apply the stored body `event_id` together with the oldest other bodies waiting (up to
    `max_bodies` in all, their sizes summing to at most `max_bytes` unless the first alone is
    larger), in one transaction, oldest first; return them.

    Bodies another worker is applying (their rows locked) are skipped, `event_id`'s included:
    workers take disjoint batches side by side instead of queueing behind each other, and a
    body is applied exactly once (its row is locked, then PROCESSED, in the same commit).
    The tasks still waiting for the bodies applied here are finished in that commit too: they
    would only find their bodies done.
    """
    with transaction.atomic():
        hold_for_applying()
        events = take_waiting(event_id, max_bodies=max_bodies, max_bytes=max_bytes)
        if not events:
            return []
        # Taken now: a body that held only erased people's items is deleted while applied.
        others = [event.pk for event in events if event.pk != event_id]
        applied = apply_webhook_events(events)
        finish_waiting_tasks(others)
    return applied


def take_waiting(event_id: int, *, max_bodies: int, max_bytes: int) -> list[WebhookEvent]:
    """Lock and return, oldest first, `event_id`'s body unless it is applied or taken, and
    the oldest waiting bodies that fit beside it (see apply_waiting)."""
    unapplied = Q(state=WebhookEvent.State.RECEIVED) | Q(
        pk=event_id, state=WebhookEvent.State.FAILED
    )
    # Locked before they are read, sizes only: a body that does not fit stays locked, unread,
    # until the commit (rare: bodies are small but for batches of hundreds of messages).
    sizes = list(
        WebhookEvent.objects.select_for_update(skip_locked=True)
        .filter(unapplied)
        .annotate(size=Length("body"))
        .order_by(Case(When(pk=event_id, then=0), default=1), "received_at", "pk")
        .values_list("pk", "size")[:max_bodies]
    )
    chosen: list[int] = []
    total = 0
    for pk, size in sizes:
        if chosen and total + size > max_bytes:
            break
        chosen.append(pk)
        total += size
    return list(WebhookEvent.objects.filter(pk__in=chosen).order_by("received_at", "pk"))


def finish_waiting_tasks(event_ids: list[int]) -> int:
    """Mark the waiting apply tasks of bodies just applied as done (what running each would
    have come to), so that workers do not claim them one by one for nothing. A task a worker
    has already claimed runs and finds its body applied."""
    if not event_ids:
        return 0
    return DBTaskResult.objects.filter(
        task_path=apply_stored_webhook.module_path,
        status=TaskResultStatus.READY,
        args_kwargs__args__0__in=event_ids,
    ).update(status=TaskResultStatus.SUCCESSFUL, finished_at=Now())


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
