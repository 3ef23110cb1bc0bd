"""Automation's periodic jobs, run by the worker's maintenance task (messaging.maintenance)
every MAINTENANCE_INTERVAL_SECONDS:

- auto-close: open conversations without a message for AUTOMATION_AUTO_CLOSE_DAYS are closed
  (and say so in their timeline); the next inbound message reopens them (messaging.ingest);
- waiting alerts: a customer whose first message since the last reply by staff has waited
  AUTOMATION_UNANSWERED_ALERT_MINUTES gets the assignee (or, unassigned, whoever receives
  waiting alerts) an e-mail, once per wait (WaitAlert).

Notes, notification records and old waiting alerts are removed by privacy retention
(privacy.retention.purge_expired), with everything else the privacy policy says goes.

Each step works in small batches, each its own transaction, and a failing step is logged
without stopping the others.
"""

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, Exists, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from automation.models import Note, StaffNotification, WaitAlert
from automation.notes import record
from automation.notifications import notify, waiting_alert_recipients
from messaging.models import Conversation, Message

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# Waits that began longer ago than this are not reported (e.g. on the first run after
# installing, or after the worker was down for a long time); privacy retention deletes their
# alerts a day after that.
WAIT_HORIZON = timedelta(days=7)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def automation_upkeep(now=None):
    """The job messaging.maintenance runs; returns counts per step."""
    now = now or timezone.now()
    counts = {}
    for step in (auto_close, alert_waiting):
        try:
            counts[step.__name__] = step(now)
        except Exception:
            logger.exception("automation upkeep: %s failed", step.__name__)
    return counts


def auto_close(now):
    days = settings.AUTOMATION_AUTO_CLOSE_DAYS
    if not days:
        return 0
    cutoff = now - timedelta(days=days)
    idle = Conversation.objects.filter(state=Conversation.State.OPEN, last_message_at__lt=cutoff)
    closed = 0
    while True:
        pks = list(idle.order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE])
        if not pks:
            return closed
        done = 0
        with transaction.atomic():
            for pk in pks:
                # Checked again row by row: a message may have arrived since the SELECT.
                if idle.filter(pk=pk).update(state=Conversation.State.CLOSED):
                    conversation = Conversation(pk=pk)
                    record(conversation, Note.Event.AUTO_CLOSED, days=days)
                    done += 1
        closed += done
        if not done:
            return closed


def waiting_conversations(now):
    """Open conversations whose customer has waited past the threshold since their first
    message after the latest reply by staff (automatic replies do not count as answers),
    with `waiting_since` annotated, not yet reported for this wait."""
    threshold = now - timedelta(minutes=settings.AUTOMATION_UNANSWERED_ALERT_MINUTES)
    horizon = now - WAIT_HORIZON
    staff_reply = (
        Message.objects.filter(
            conversation=OuterRef("pk"),
            direction=Message.Direction.OUTBOUND,
            sent_by__isnull=False,
        )
        .order_by("-timestamp")
        .values("timestamp")[:1]
    )
    first_unanswered = (
        Message.objects.filter(
            conversation=OuterRef("pk"),
            direction=Message.Direction.INBOUND,
            timestamp__gt=Coalesce(
                OuterRef("replied_at"), Value(EPOCH, output_field=DateTimeField())
            ),
        )
        .exclude(type__in=Message.NOT_WRITTEN_TYPES)
        .order_by("timestamp")
        .values("timestamp")[:1]
    )
    reported = WaitAlert.objects.filter(
        conversation=OuterRef("pk"), waiting_since=OuterRef("waiting_since")
    )
    return (
        Conversation.objects.filter(state=Conversation.State.OPEN, last_inbound_at__gte=horizon)
        .annotate(replied_at=Subquery(staff_reply))
        .annotate(waiting_since=Subquery(first_unanswered))
        .filter(waiting_since__lte=threshold, waiting_since__gte=horizon)
        .exclude(Exists(reported))
        .select_related("assignee", "business_number")
    )


def alert_waiting(now):
    if not settings.AUTOMATION_UNANSWERED_ALERT_MINUTES:
        return 0
    alerted = 0
    for conversation in waiting_conversations(now)[:BATCH_SIZE]:
        try:
            with transaction.atomic():
                WaitAlert.objects.create(
                    conversation=conversation, waiting_since=conversation.waiting_since
                )
                for user in waiting_alert_recipients(conversation):
                    notify(user, StaffNotification.Kind.WAITING, conversation)
        except IntegrityError:
            continue  # another worker reported this wait a moment ago
        alerted += 1
    return alerted
