"""Retention: removing what the privacy policy says is no longer needed, on schedule.

`purge_expired()` applies every period (settings RETENTION_*, see config/settings.py):

- message content (text, captions, media ids and file names, locations, contact cards,
  interactive and template values, reactions) is redacted RETENTION_CONTENT_DAYS after the
  message (Meta's timestamp), keeping its metadata: ids, times, type, direction, status and
  errors. Redacted rows carry `content_redacted_at`; the inbox shows them as "content removed
  under retention policy";
- after RETENTION_METADATA_DAYS the messages themselves go, with their status events and send
  attempts; then conversations left without messages, and contacts left without
  conversations (unless a deletion request for them is still open: erasure handles those);
- internal notes (staff write about the customer in them) and the records of e-mails to
  staff after RETENTION_CONTENT_DAYS, like message content; waiting alerts (which only stop
  a wait being reported twice) once the wait is past automation's horizon;
- raw webhook bodies after RETENTION_WEBHOOK_DAYS (they hold message text and phone numbers);
- finished background-task results after RETENTION_TASK_RESULTS_DAYS, and tasks that never
  finished (still "running" since a worker died, or never picked up) ABANDONED_TASK_DAYS
  after they started or were due; a task scheduled for later is kept, however old;
- audit events, and django-axes sign-in records, after RETENTION_AUDIT_DAYS;
- handled deletion requests RETENTION_DELETION_REQUESTS_DAYS after they were closed (open
  ones never: they are work to do), and erasure tombstones that long after the erasure
  (the setting is at least RETENTION_WEBHOOK_DAYS + 7, so a tombstone outlives every
  redelivery it exists to recognise);
- expired sessions, inbox change-feed rows older than a day, and outbound attachment files
  left behind by messages that were never sent (messaging.uploads.delete_stale_uploads).

Everything works in batches of primary keys (BATCH_SIZE), each batch its own short
transaction: memory stays bounded, the web app and the webhook keep working meanwhile, and a
run that stops halfway leaves consistent data that the next run finishes. Running it twice
changes nothing the second time. Each run logs its counts (never content) and writes one
AuditEvent(action="retention", details=counts).

It runs once a day by itself inside `db_worker` (`daily_retention`, a job of
registered with messaging.hooks), or from cron with `manage.py purge_expired`.
"""

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from automation.maintenance import WAIT_HORIZON
from automation.models import Note, StaffNotification, WaitAlert
from messaging.models import Contact, Conversation, InboxChange, Message, StatusEvent, WebhookEvent
from messaging.uploads import delete_stale_uploads
from privacy.audit import Action, record
from privacy.models import AuditEvent, DeletionRequest, ErasureTombstone, RetentionSchedule

logger = logging.getLogger(__name__)

PERIOD_SETTINGS = (
    "RETENTION_CONTENT_DAYS",
    "RETENTION_METADATA_DAYS",
    "RETENTION_WEBHOOK_DAYS",
    "RETENTION_TASK_RESULTS_DAYS",
    "RETENTION_AUDIT_DAYS",
    "RETENTION_DELETION_REQUESTS_DAYS",
)
BATCH_SIZE = 1000
# Fixed periods: the inbox's change feed only serves pages open right now, and attachment
# files normally leave within seconds (see messaging.uploads).
INBOX_CHANGES_DAYS = 1
STALE_UPLOAD_DAYS = 1
# A task still "running" this long after it started, or waiting this long past when it was
# due, will never finish: its worker died, or no worker serves its queue.
ABANDONED_TASK_DAYS = 30
# How often the worker's daily run comes round.
DAILY = timedelta(days=1)
RETRY_AFTER_FAILURE = timedelta(hours=1)

# What survives redaction of a message's `data`: facts about the message, not its content.
KEPT_DATA_KEYS = frozenset(
    {
        "mime_type",
        "file_size",
        "voice",
        "animated",
        "interactive_type",
        "system_type",
        "forwarded",
        "frequently_forwarded",
    }
)
# Of a sent template, which one it was (not the values filled in).
KEPT_TEMPLATE_KEYS = ("name", "language", "category")

# The counts a run reports, in order; cascaded deletions land under their model's key.
COUNT_KEYS = {
    "messaging.message": "messages",
    "messaging.statusevent": "status_events",
    "messaging.sendattempt": "send_attempts",
    "messaging.inboxchange": "inbox_changes",
    "messaging.conversation": "conversations",
    "messaging.contact": "contacts",
    "messaging.webhookevent": "webhook_events",
    "messaging.webhookevent_contacts": "webhook_event_links",
    "django_tasks_database.dbtaskresult": "task_results",
    "automation.note": "notes",
    "automation.note_mentions": "note_mentions",
    "automation.staffnotification": "staff_notifications",
    "automation.waitalert": "wait_alerts",
    "automation.automationrun": "automation_runs",
    "automation.autoreplyclaim": "auto_reply_claims",
    "automation.conversationlabel": "conversation_labels",
    "automation.conversationpriority": "conversation_priorities",
    "privacy.auditevent": "audit_events",
    "privacy.deletionrequest": "deletion_requests",
    "privacy.erasuretombstone": "tombstones",
    "axes.accesslog": "login_records",
    "axes.accessattempt": "login_records",
    "axes.accessfailurelog": "login_records",
    "axes.accessattemptexpiration": "login_records",
    "sessions.session": "sessions",
}


@dataclass(frozen=True)
class Periods:
    """The configured retention periods, in days (what /privacy/ and the admin show)."""

    content: int
    # Internal notes and the records of e-mails to staff: as long as message content.
    notes: int
    metadata: int
    webhook: int
    task_results: int
    audit: int
    login_records: int
    # Handled deletion requests and erasure tombstones.
    closed_requests: int
    # Not a retention period, but a promise shown with them: deletion requests are due
    # this many days after receipt.
    deletion_requests: int = 30
    inbox_changes: int = INBOX_CHANGES_DAYS
    stale_uploads: int = STALE_UPLOAD_DAYS
    abandoned_tasks: int = ABANDONED_TASK_DAYS


def periods() -> Periods:
    return Periods(
        content=settings.RETENTION_CONTENT_DAYS,
        notes=settings.RETENTION_CONTENT_DAYS,
        metadata=settings.RETENTION_METADATA_DAYS,
        webhook=settings.RETENTION_WEBHOOK_DAYS,
        task_results=settings.RETENTION_TASK_RESULTS_DAYS,
        audit=settings.RETENTION_AUDIT_DAYS,
        login_records=settings.RETENTION_AUDIT_DAYS,
        closed_requests=settings.RETENTION_DELETION_REQUESTS_DAYS,
        deletion_requests=getattr(settings, "DELETION_REQUEST_DEADLINE_DAYS", 30),
    )


# Told (step, rows done so far) after each batch.
Progress = Callable[[str, int], object]


def _no_progress(step: str, done: int) -> None:
    pass


def purge_expired(
    now: datetime | None = None,
    *,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> dict[str, int]:
    """Apply every retention period as of `now` (default: the current time) and return the
    counts of what was redacted or deleted, by kind. Records one audit event.

    `progress(step, done)` is called after each batch (for the management command's output).
    """

    now = now or timezone.now()
    progress = progress or _no_progress
    days = periods()
    counts = Counter(dict.fromkeys(["content_redacted", *dict.fromkeys(COUNT_KEYS.values())], 0))
    steps: list[tuple[str, QuerySet[Any] | None]] = [
        ("status_events", _unlinked_status_events(now - timedelta(days=days.metadata))),
        ("conversations", _empty_conversations(now - timedelta(days=days.metadata))),
        ("contacts", _lone_contacts(now - timedelta(days=days.metadata))),
        ("notes", _notes(now - timedelta(days=days.notes))),
        ("staff_notifications", _staff_notifications(now - timedelta(days=days.notes))),
        ("wait_alerts", _wait_alerts(now)),
        ("webhook_events", _webhook_events(now - timedelta(days=days.webhook))),
        (
            "task_results",
            _task_results(
                now - timedelta(days=days.task_results), now - timedelta(days=days.abandoned_tasks)
            ),
        ),
        ("audit_events", _audit_events(now - timedelta(days=days.audit))),
        *(
            ("login_records", queryset)
            for queryset in _login_records(now - timedelta(days=days.login_records))
        ),
        ("deletion_requests", _closed_requests(now - timedelta(days=days.closed_requests))),
        ("tombstones", _tombstones(now - timedelta(days=days.closed_requests))),
        ("sessions", _expired_sessions(now)),
        ("inbox_changes", _inbox_changes(now - timedelta(days=days.inbox_changes))),
    ]
    # Messages past the metadata period go first: no point redacting what is deleted next.
    messages = _expired_messages(now - timedelta(days=days.metadata))
    delete_in_batches(messages, counts, "messages", progress, batch_size)
    counts["content_redacted"] = redact_content(now, days.content, progress, batch_size)
    for step, queryset in steps:
        if queryset is not None:
            delete_in_batches(queryset, counts, step, progress, batch_size)
    counts["uploads"] = _stale_uploads(now - timedelta(days=days.stale_uploads))
    progress("uploads", counts["uploads"])
    totals = dict(counts)
    record(Action.RETENTION, details=totals, at=now)
    logger.info("retention run: %s", ", ".join(f"{key} {value}" for key, value in totals.items()))
    return totals


# Content.


def redacted_data(data: Any) -> dict[str, Any]:
    """What a message's `data` becomes when its content is removed."""
    data = data if isinstance(data, dict) else {}
    kept = {key: data[key] for key in KEPT_DATA_KEYS if key in data}
    template = data.get("template")
    if isinstance(template, dict):
        kept["template"] = {key: template[key] for key in KEPT_TEMPLATE_KEYS if key in template}
    return {**kept, "redacted": True}


def redact_content(
    now: datetime,
    content_days: int,
    progress: Progress = _no_progress,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Remove the content of messages older than `content_days`; returns how many.

    Outbound messages still waiting to be sent keep theirs until they are sent or fail.
    """

    cutoff = now - timedelta(days=content_days)
    # Served by the partial index message_unredacted_idx.
    due = Message.objects.filter(timestamp__lt=cutoff, content_redacted_at__isnull=True).exclude(
        status=Message.Status.PENDING
    )
    done = 0
    while True:
        rows = list(due.values_list("pk", "data")[:batch_size])
        if not rows:
            break
        # Rows whose data reduce to the same thing are updated together: a batch costs a
        # handful of UPDATEs (one per kind of media, template, ...), not one per row.
        groups: dict[str, tuple[dict[str, Any], list[int]]] = {}
        for pk, data in rows:
            new = redacted_data(data)
            groups.setdefault(repr(sorted(new.items())), (new, []))[1].append(pk)
        changed = 0
        with transaction.atomic():
            for new, pks in groups.values():
                changed += Message.objects.filter(
                    pk__in=pks, content_redacted_at__isnull=True
                ).update(text="", data=new, reactions={}, content_redacted_at=now)
        done += changed
        progress("content_redacted", done)
        if not changed:
            break  # another run got there first; it will finish the job
    return done


# Rows.


def delete_in_batches(
    queryset: QuerySet[Any],
    counts: Counter[str],
    step: str,
    progress: Progress = _no_progress,
    batch_size: int = BATCH_SIZE,
) -> None:
    """Delete what `queryset` matches, `batch_size` rows per transaction, adding what was
    deleted (cascades included) to `counts`.

    The queryset's conditions are checked again by the DELETE itself, inside the batch's
    transaction; a batch that a concurrent write makes inconsistent (a new message for a
    conversation being removed) fails on its foreign key and is left for the next run.
    """
    model = queryset.model
    while True:
        pks = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not pks:
            return
        try:
            with transaction.atomic():
                _total, per_model = queryset.filter(pk__in=pks).delete()
        except IntegrityError:
            logger.warning(
                "retention: a batch of %s changed meanwhile; left for the next run", step
            )
            return
        for label, number in per_model.items():
            key = step if label == model._meta.label else COUNT_KEYS.get(label.lower())
            counts[key or label.lower()] += number
        progress(step, counts[step])
        if not per_model.get(model._meta.label):
            return


def _expired_messages(cutoff: datetime) -> QuerySet[Message]:

    # Served by message_timestamp_idx.
    return Message.objects.filter(timestamp__lt=cutoff)


def _unlinked_status_events(cutoff: datetime) -> QuerySet[StatusEvent]:
    """Statuses that never found their message (it was never ours, or is gone)."""

    return StatusEvent.objects.filter(message__isnull=True, timestamp__lt=cutoff)


def _empty_conversations(cutoff: datetime) -> QuerySet[Conversation]:

    return Conversation.objects.filter(
        ~Exists(Message.objects.filter(conversation=OuterRef("pk"))),
        Q(last_message_at__lt=cutoff) | Q(last_message_at__isnull=True),
        created_at__lt=cutoff,
    )


def _lone_contacts(cutoff: datetime) -> QuerySet[Contact]:

    open_request = DeletionRequest.objects.open().filter(contact=OuterRef("pk"))
    return Contact.objects.filter(
        ~Exists(Conversation.objects.filter(contact=OuterRef("pk"))),
        ~Exists(open_request),
        updated_at__lt=cutoff,
    )


def _notes(cutoff: datetime) -> QuerySet[Note]:

    # Served by note_created_idx.
    return Note.objects.filter(created_at__lt=cutoff)


def _staff_notifications(cutoff: datetime) -> QuerySet[StaffNotification]:

    return StaffNotification.objects.filter(created_at__lt=cutoff)


def _wait_alerts(now: datetime) -> QuerySet[WaitAlert]:
    """Alerts for waits that began before automation stops looking (a day's margin): no
    alert can be due for them again, so the record that one was sent has done its job."""

    return WaitAlert.objects.filter(waiting_since__lt=now - WAIT_HORIZON - timedelta(days=1))


def _webhook_events(cutoff: datetime) -> QuerySet[WebhookEvent]:

    return WebhookEvent.objects.filter(received_at__lt=cutoff)


def _task_results(finished_cutoff: datetime, abandoned_cutoff: datetime) -> QuerySet[DBTaskResult]:

    finished = Q(
        status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED],
        finished_at__lt=finished_cutoff,
    )
    died_running = Q(status=TaskResultStatus.RUNNING) & (
        Q(started_at__lt=abandoned_cutoff)
        | Q(started_at__isnull=True, enqueued_at__lt=abandoned_cutoff)
    )
    # A task enqueued without a time is due at once: django-tasks-db stores "no time" as its
    # far-future date. One with a real time still ahead is legitimately waiting.
    never_picked_up = Q(status=TaskResultStatus.READY, enqueued_at__lt=abandoned_cutoff) & (
        Q(run_after__lt=abandoned_cutoff) | Q(run_after=get_date_max())
    )
    return DBTaskResult.objects.filter(finished | died_running | never_picked_up)


def _audit_events(cutoff: datetime) -> QuerySet[AuditEvent]:

    return AuditEvent.objects.filter(at__lt=cutoff)


def _closed_requests(cutoff: datetime) -> QuerySet[DeletionRequest]:

    closed = [DeletionRequest.Status.COMPLETED, DeletionRequest.Status.REJECTED]
    return DeletionRequest.objects.filter(status__in=closed).filter(
        # A request closed before completed_at was recorded counts from its receipt.
        Q(completed_at__lt=cutoff) | Q(completed_at__isnull=True, received_at__lt=cutoff)
    )


def _tombstones(cutoff: datetime) -> QuerySet[ErasureTombstone]:

    return ErasureTombstone.objects.filter(erased_at__lt=cutoff)


def _login_records(cutoff: datetime) -> list[QuerySet[Any]]:

    return [
        model.objects.filter(attempt_time__lt=cutoff)
        for model in (AccessLog, AccessAttempt, AccessFailureLog)
    ]


def _expired_sessions(now: datetime) -> QuerySet[Session] | None:

    if not apps.is_installed("django.contrib.sessions"):
        return None
    if settings.SESSION_ENGINE not in {
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cached_db",
    }:
        return None

    return Session.objects.filter(expire_date__lt=now)


def _inbox_changes(cutoff: datetime) -> QuerySet[InboxChange]:

    return InboxChange.objects.filter(created_at__lt=cutoff)


def _stale_uploads(cutoff: datetime) -> int:

    # delete_stale_uploads measures its age from the real clock: the age that puts its
    # cutoff at ours keeps `now` the run's only clock.
    return delete_stale_uploads(older_than=timezone.now() - cutoff)


# The daily run inside db_worker.


def claim_daily_run(now: datetime) -> bool:
    """Whether this caller should run today's retention: exactly one caller per day gets True,
    however many workers ask (a conditional UPDATE on the one schedule row)."""

    RetentionSchedule.objects.get_or_create(pk=1, defaults={"next_run_at": now})
    claimed = RetentionSchedule.objects.filter(pk=1, next_run_at__lte=now).update(
        next_run_at=now + DAILY, last_started_at=now
    )
    return claimed == 1


def daily_retention(now: datetime | None = None) -> dict[str, int] | None:
    """Maintenance job (messaging.maintenance): purge once a day. Called every
    MAINTENANCE_INTERVAL_SECONDS; does nothing until a day has passed since the last run.
    Returns the counts when it ran, else None."""
    now = now or timezone.now()
    if not claim_daily_run(now):
        return None
    try:
        return purge_expired(now)
    except Exception:
        # Try again in an hour rather than tomorrow; what was done so far stays done.

        RetentionSchedule.objects.filter(pk=1).update(next_run_at=now + RETRY_AFTER_FAILURE)
        raise
