"""Background work: sending, read receipts, and the outbox's safety net.

Exactly-once sending rests on one conditional UPDATE (`claim`): whichever worker flips
`claimed_at` from NULL owns the attempt; a duplicate task finds nothing to claim. What happens
after the POST leaves the process is recorded before anything else: accepted (wamid), retry
later (with backoff), failed, or unknown (the request may have reached Meta: never resent).

Every lease, slot and due time here is by the database's clock (`Now()` in statements,
`messaging.db.database_now()` for a value Python needs): workers on several hosts compare
what the others wrote. A task's `run_after` is the one exception, django-tasks-db's, by the
worker host's clock: a host running ahead may start a retry before its `next_attempt_at`,
when `claim` refuses it and the sweep queues it again once the lease is over.
"""

import logging
import random
import time
import traceback
from collections.abc import Collection
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Max, Q, QuerySet
from django.db.models.functions import Now
from django.tasks import TaskResultStatus, task
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from messaging import payloads, signals
from messaging.backends import get_backend
from messaging.backends.base import SendError
from messaging.db import database_now
from messaging.ingest import receive
from messaging.ingest.annotations import apply_annotation
from messaging.ingest.statuses import advance_status, apply_pending_statuses
from messaging.models import (
    UNCONFIRMED_SEND_AGAIN_AFTER,
    BusinessNumber,
    InboxChange,
    Message,
    SendAttempt,
)
from messaging.outbound import graph_payload, read_receipt_payload
from messaging.queues import SENDING, WEBHOOKS
from messaging.uploads import discard_upload, prepare_media

logger = logging.getLogger(__name__)

# Longer waits for a sending slot are not slept through: the message is queued for later.
MAX_PACING_SLEEP = 2.0


class Uniform(Protocol):
    """The `random` module, or a seeded `random.Random` in tests."""

    def uniform(self, a: float, b: float) -> float: ...


def backoff(attempt: int, rng: Uniform = random) -> timedelta:
    """Exponential backoff with jitter: between half and all of 5 s, 10 s, 20 s, … (capped at
    15 minutes), so that messages refused together do not all come back together."""
    ceiling = min(settings.WHATSAPP_RETRY_BASE_SECONDS * 2 ** (attempt - 1), 15 * 60)
    return timedelta(seconds=rng.uniform(ceiling / 2, ceiling))


def claim(message_id: int) -> Message | None:
    """Take a pending message for one attempt, or None if another worker has it, it is
    already sent, or its next attempt is not due yet (by the database's clock, as the sweep
    that judges the claim's lease)."""
    claimed = (
        Message.objects.filter(
            pk=message_id,
            direction=Message.Direction.OUTBOUND,
            status=Message.Status.PENDING,
            wamid__isnull=True,
            claimed_at__isnull=True,
        )
        .exclude(next_attempt_at__gt=Now())
        .update(claimed_at=Now(), attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    return Message.objects.select_related(
        "conversation__contact", "conversation__business_number"
    ).get(pk=message_id)


@task(queue_name=SENDING.name, priority=SENDING.priority)
def send_message(message_id: int, requested_by: int | None = None) -> None:
    """Hand one pending outbound message to the transport."""
    message = claim(message_id)
    if message is None:
        return
    number = message.conversation.business_number
    if number.sending_paused_at:
        # Not this message's fault: give the attempt back; resuming re-queues it.
        Message.objects.filter(pk=message.pk).update(claimed_at=None, attempts=F("attempts") - 1)
        return
    wait = reserve_send_slot(number)
    if wait > MAX_PACING_SLEEP:
        # A backlog: come back when this number's turn comes rather than hold the worker.
        due = database_now() + timedelta(seconds=wait)
        Message.objects.filter(pk=message.pk).update(
            claimed_at=None, attempts=F("attempts") - 1, next_attempt_at=due
        )
        enqueue_send(message.pk, run_after=due, requested_by=requested_by)
        return
    time.sleep(wait)
    attempt = SendAttempt.objects.create(
        message=message, number=message.attempts, requested_by_id=requested_by
    )
    try:
        prepare_media(message)
        payload = graph_payload(message)
    except SendError as error:
        record_failure(message, attempt, error)
        return
    except Exception as exc:
        # A fault of ours before the message request: nothing reached the customer. Failed
        # (staff see it and may retry) rather than left claimed until the sweep calls it
        # unknown.
        log_fault(message, attempt, exc, "preparing the request")
        record_failure(
            message,
            attempt,
            SendError(f"The inbox could not prepare this message ({type(exc).__name__})"),
        )
        return
    try:
        result = get_backend().send(number.phone_number_id, payload)
    except SendError as error:
        record_failure(message, attempt, error)
        return
    except Exception as exc:
        # The transport broke in a way it does not classify: the request may have left.
        log_fault(message, attempt, exc, "sending")
        record_failure(
            message,
            attempt,
            SendError(f"The transport failed unexpectedly ({type(exc).__name__})", ambiguous=True),
        )
        return
    record_acceptance(message, attempt, result.wamid)


def enqueue_send(
    message_id: int, run_after: datetime | None = None, requested_by: int | None = None
) -> None:
    task = send_message.using(run_after=run_after) if run_after else send_message
    if requested_by:
        task.enqueue(message_id, requested_by=requested_by)
    else:
        task.enqueue(message_id)


def log_fault(message: Message, attempt: SendAttempt, exc: Exception, stage: str) -> None:
    """Log an unexpected exception with where it happened, but not its text (it could quote
    the message)."""
    logger.error(
        "message %s attempt %s: %s failed with %s\n%s",
        message.pk,
        attempt.number,
        stage,
        type(exc).__name__,
        "".join(traceback.format_tb(exc.__traceback__)),
    )


def reserve_send_slot(number: BusinessNumber, now: datetime | None = None) -> float:
    """Take the next sending slot of this business number; return seconds to wait for it.

    Slots are 1/WHATSAPP_SEND_RATE_PER_SECOND apart and shared by every worker through the
    number's row (locked for the moment it takes to move it forward), and measured by the
    database's clock: workers on hosts whose clocks differ by more than a slot would
    otherwise send in bursts, or leave gaps.
    """
    spacing = timedelta(seconds=1 / settings.WHATSAPP_SEND_RATE_PER_SECOND)
    with transaction.atomic():
        # The database's clock read by the statement that locks the row: no query of its own.
        slot, database_clock = (
            BusinessNumber.objects.select_for_update()
            .filter(pk=number.pk)
            .annotate(clock=Now())
            .values_list("next_send_slot", "clock")
            .get()
        )
        now = now or database_clock
        slot = max(slot or now, now)
        BusinessNumber.objects.filter(pk=number.pk).update(next_send_slot=slot + spacing)
    return (slot - now).total_seconds()


def record_acceptance(message: Message, attempt: SendAttempt, wamid: str) -> None:
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(wamid=wamid, claimed_at=None)
        message.wamid = wamid
        SendAttempt.objects.filter(pk=attempt.pk).update(
            outcome=SendAttempt.Outcome.ACCEPTED, wamid=wamid
        )
        if message.type == "reaction":
            target = Message.objects.filter(wamid=message.target_wamid).first()
            if target and apply_annotation(message, target):
                InboxChange.objects.record(target.conversation_id, target.pk)
        apply_pending_statuses(message)
        # Accepted by the Cloud API means it reached WhatsApp's servers: one tick. Statuses
        # that already arrived (delivered, failed) are not moved back by this.
        advance_status(message.pk, Message.Status.SENT, timezone.now())
        InboxChange.objects.record(message.conversation_id, message.pk)
    logger.info("message %s accepted (attempt %s)", message.pk, attempt.number)


def record_failure(message: Message, attempt: SendAttempt, error: SendError) -> None:
    number = message.conversation.business_number
    logger.warning(
        "message %s attempt %s failed: code %s%s",
        message.pk,
        attempt.number,
        error.code,
        " (retryable)" if error.retryable else "",
    )
    outcome_fields = {"error_code": error.code, "error_title": error.title[:255]}
    now = database_now()
    with transaction.atomic():
        messages = Message.objects.filter(pk=message.pk)
        if error.stop_sending:
            pause_sending(number, error)
            messages.update(claimed_at=None)  # waits, pending, for resume_sending()
            outcome = SendAttempt.Outcome.RETRY
        elif error.ambiguous:
            messages.update(status=Message.Status.UNCONFIRMED, status_at=now, claimed_at=None)
            outcome = SendAttempt.Outcome.UNKNOWN
        elif error.retryable and attempts_this_round(message) < settings.WHATSAPP_SEND_MAX_ATTEMPTS:
            due = now + backoff(message.attempts)
            messages.update(claimed_at=None, next_attempt_at=due)
            outcome = SendAttempt.Outcome.RETRY
            transaction.on_commit(lambda: enqueue_send(message.pk, run_after=due))
        else:
            messages.update(
                status=Message.Status.FAILED,
                status_at=now,
                claimed_at=None,
                error_code=error.code,
                error_title=error.title[:255],
                error_details=error.details,
            )
            outcome = SendAttempt.Outcome.FAILED
            # Failed for good: an attachment still waiting for upload is not kept.
            transaction.on_commit(lambda: discard_upload(message), robust=True)
        SendAttempt.objects.filter(pk=attempt.pk).update(outcome=outcome, **outcome_fields)
        InboxChange.objects.record(message.conversation_id, message.pk)


def attempts_this_round(message: Message) -> int:
    """Attempts since staff last asked for one (Retry): each request gets the full budget of
    automatic retries."""
    asked = message.send_attempts.filter(requested_by__isnull=False).aggregate(n=Max("number"))
    return message.attempts - (asked["n"] or 1) + 1


def pause_sending(number: BusinessNumber, error: SendError) -> None:
    """Meta rejected the access token: stop sending from this number until staff act."""
    pause_numbers(BusinessNumber.objects.filter(pk=number.pk), error)


def pause_numbers(numbers: QuerySet[BusinessNumber], error: SendError) -> int:
    """Pause sending from `numbers` (a queryset) after a code 190 from any Graph API call:
    the inbox's banner tells staff, and the admin's "Resume sending" ends it."""
    paused = numbers.filter(sending_paused_at__isnull=True).update(
        sending_paused_at=Now(),
        paused_reason=f"{error.title} (code {error.code})"[:255],
    )
    if paused:
        logger.error("sending paused for %d business number(s): code %s", paused, error.code)
    return paused


def resume_sending(number: BusinessNumber) -> int:
    """Clear a pause and queue again everything that waited for it."""
    with transaction.atomic():
        BusinessNumber.objects.filter(pk=number.pk).update(sending_paused_at=None, paused_reason="")
        waiting = list(
            Message.objects.filter(
                conversation__business_number=number,
                direction=Message.Direction.OUTBOUND,
                status=Message.Status.PENDING,
                wamid__isnull=True,
            ).values_list("pk", flat=True)
        )
        for pk in waiting:
            transaction.on_commit(partial(enqueue_send, pk))
    return len(waiting)


def retry_message(message: Message, user: User | None, now: datetime | None = None) -> bool:
    """Send a failed message again, or an unconfirmed one staff judge lost (after
    UNCONFIRMED_SEND_AGAIN_AFTER without word from Meta), as a new attempt on the same row.

    The earlier attempt's wamid leaves the row (kept on its SendAttempt): the new attempt
    gets its own, and the statuses Meta still reports for the old one do not move the new
    one's ticks. Audited. Returns whether the message was queued again.
    """
    now = now or database_now()
    cutoff = now - UNCONFIRMED_SEND_AGAIN_AFTER
    again = Q(status=Message.Status.FAILED) | Q(
        Q(status_at__isnull=True) | Q(status_at__lte=cutoff), status=Message.Status.UNCONFIRMED
    )
    with transaction.atomic():
        row = (
            Message.objects.select_for_update()
            .filter(again, pk=message.pk, direction=Message.Direction.OUTBOUND)
            .first()
        )
        if row is None:
            return False
        if row.wamid:
            keep_wamid_in_history(row, row.wamid)
        Message.objects.filter(pk=row.pk).update(
            status=Message.Status.PENDING,
            status_at=None,
            wamid=None,
            error_code=None,
            error_title="",
            error_details="",
            next_attempt_at=None,
            claimed_at=None,
        )
        signals.send_retried.send(sender=retry_message, message=row, user=user)
        InboxChange.objects.record(row.conversation_id, row.pk)
        requested_by = user.pk if user else None
        transaction.on_commit(lambda: send_message.enqueue(row.pk, requested_by=requested_by))
    return True


def keep_wamid_in_history(message: Message, wamid: str) -> None:
    """Record `wamid`, the message's, on the attempt that got it, unless it already is (a wamid
    adopted from a status webhook after a timeout is not). A message sent before attempts
    were recorded gets a row for its one attempt."""
    attempts = message.send_attempts.all()
    if attempts.filter(wamid=wamid).exists():
        return
    latest = attempts.order_by("-number").values_list("pk", flat=True).first()
    if latest is None:
        number = max(message.attempts, 1)
        SendAttempt.objects.create(message=message, number=number, wamid=wamid)
        Message.objects.filter(pk=message.pk).update(attempts=number)
        return
    SendAttempt.objects.filter(pk=latest).update(wamid=wamid)


@task(queue_name=SENDING.name, priority=SENDING.priority)
def send_read_receipt(message_id: int) -> None:
    """Tell Meta the customer's message was read (it covers their earlier messages too)."""
    message = (
        Message.objects.select_related("conversation__business_number")
        .filter(pk=message_id, direction=Message.Direction.INBOUND, wamid__isnull=False)
        .first()
    )
    if message is None:
        return
    number = message.conversation.business_number
    if number.sending_paused_at:
        return
    try:
        get_backend().send(number.phone_number_id, read_receipt_payload(message.wamid))
    except SendError as error:
        if error.stop_sending:
            pause_sending(number, error)
        # A read receipt is a courtesy: log and move on, never retry into a storm.
        logger.info("read receipt for message %s not sent: code %s", message.pk, error.code)


@task(queue_name=WEBHOOKS.name, priority=WEBHOOKS.priority)
def simulate_status(phone_number_id: str, wamid: str, recipient: str, status: str) -> None:
    """The console transport's stand-in for Meta: a status webhook, applied for real."""
    body = payloads.envelope(
        payloads.value(
            phone_number_id=phone_number_id,
            statuses=[payloads.status(wamid, status, recipient=recipient)],
        )
    )
    receive(payloads.encode(body))


def sweep_outbox(now: datetime | None = None) -> tuple[int, int]:
    """The safety net, run periodically by the maintenance task.

    - A claim older than the lease means a worker died mid-send: it may have reached Meta,
      so the message becomes "unknown" (a status webhook settles it), never resent.
    - A pending, unclaimed message that is overdue lost its task: queue it again, unless a
      task for it is still waiting (a backlog longer than the lease) — claiming makes a
      duplicate harmless, but the queue would grow by the whole backlog every sweep.
    - Unconfirmed messages that just became eligible for "Send again" are announced, so open
      pages offer it without a reload.

    `now` is the database's clock unless a test says otherwise: the claims it judges were
    stamped by it (`claim`), whichever host made them.
    """
    now = now or database_now()
    lease = timedelta(seconds=settings.WHATSAPP_SEND_LEASE_SECONDS)
    abandoned = list(
        Message.objects.filter(
            direction=Message.Direction.OUTBOUND,
            status=Message.Status.PENDING,
            wamid__isnull=True,
            claimed_at__lt=now - lease,
        ).values_list("pk", "conversation_id", "attempts")
    )
    for pk, conversation_id, attempts in abandoned:
        with transaction.atomic():
            if Message.objects.filter(pk=pk, claimed_at__lt=now - lease).update(
                status=Message.Status.UNCONFIRMED, status_at=now, claimed_at=None
            ):
                SendAttempt.objects.filter(message_id=pk, number=attempts, outcome="").update(
                    outcome=SendAttempt.Outcome.UNKNOWN
                )
                InboxChange.objects.record(conversation_id, pk)
    overdue = list(
        Message.objects.filter(
            direction=Message.Direction.OUTBOUND,
            status=Message.Status.PENDING,
            wamid__isnull=True,
            claimed_at__isnull=True,
            created_at__lt=now - lease,
            conversation__business_number__sending_paused_at__isnull=True,
        )
        .exclude(next_attempt_at__gt=now - lease)
        .values_list("pk", flat=True)
    )
    waiting = queued_sends(overdue)
    requeued = 0
    for pk in overdue:
        if pk not in waiting:
            enqueue_send(pk)
            requeued += 1
    announce_send_again(now)
    if abandoned or requeued:
        logger.warning(
            "outbox sweep: %d abandoned sends marked unknown, %d messages queued again",
            len(abandoned),
            requeued,
        )
    return len(abandoned), requeued


def queued_sends(message_ids: Collection[int]) -> set[int]:
    """Which of `message_ids` have a send task waiting in the queue."""
    if not message_ids:
        return set()
    return set(
        DBTaskResult.objects.filter(
            task_path=send_message.module_path,
            status=TaskResultStatus.READY,
            args_kwargs__args__0__in=message_ids,
        ).values_list("args_kwargs__args__0", flat=True)
    )


def announce_send_again(now: datetime) -> None:
    """Announce the unconfirmed messages that became eligible for "Send again" since about
    the previous sweep (two intervals back: a late sweep misses none; a second announcement
    only re-renders the message)."""
    cutoff = now - UNCONFIRMED_SEND_AGAIN_AFTER
    since = cutoff - 2 * timedelta(seconds=settings.MAINTENANCE_INTERVAL_SECONDS)
    eligible = Message.objects.filter(
        direction=Message.Direction.OUTBOUND,
        status=Message.Status.UNCONFIRMED,
        status_at__gt=since,
        status_at__lte=cutoff,
    ).values_list("conversation_id", "pk")
    for conversation_id, pk in eligible:
        InboxChange.objects.record(conversation_id, pk)
