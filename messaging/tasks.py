"""Background work: sending, read receipts, and the outbox's safety net.

Exactly-once sending rests on one conditional UPDATE (`claim`): whichever worker flips
`claimed_at` from NULL owns the attempt; a duplicate task finds nothing to claim. What happens
after the POST leaves the process is recorded before anything else: accepted (wamid), retry
later (with backoff), failed, or unknown (the request may have reached Meta: never resent).
"""

import logging
import random
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.tasks import task
from django.utils import timezone

from messaging.backends import get_backend
from messaging.backends.base import SendError
from messaging.changes import announce
from messaging.ingest import advance_status, apply_annotation, apply_pending_statuses
from messaging.models import BusinessNumber, Message, SendAttempt
from messaging.sending import enqueue_send, graph_payload, read_receipt_payload

logger = logging.getLogger(__name__)

MEDIA_TYPES = {"image", "document", "audio", "video", "sticker"}
# Longer waits for a sending slot are not slept through: the message is queued for later.
MAX_PACING_SLEEP = 2.0


def backoff(attempt):
    """Exponential backoff with full jitter: up to 5 s, 10 s, 20 s, … capped at 15 minutes."""
    ceiling = min(settings.WHATSAPP_RETRY_BASE_SECONDS * 2 ** (attempt - 1), 15 * 60)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311 - not crypto


def claim(message_id):
    """Take a pending message for one attempt, or None if another worker has it, it is
    already sent, or its next attempt is not due yet."""
    now = timezone.now()
    claimed = (
        Message.objects.filter(
            pk=message_id,
            direction=Message.Direction.OUTBOUND,
            status=Message.Status.PENDING,
            wamid__isnull=True,
            claimed_at__isnull=True,
        )
        .exclude(next_attempt_at__gt=now)
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    return Message.objects.select_related(
        "conversation__contact", "conversation__business_number"
    ).get(pk=message_id)


@task
def send_message(message_id, requested_by=None):
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
        due = timezone.now() + timedelta(seconds=wait)
        Message.objects.filter(pk=message.pk).update(
            claimed_at=None, attempts=F("attempts") - 1, next_attempt_at=due
        )
        enqueue_send(message.pk, run_after=due)
        return
    time.sleep(wait)
    attempt = SendAttempt.objects.create(
        message=message, number=message.attempts, requested_by_id=requested_by
    )
    try:
        if message.type in MEDIA_TYPES:
            from messaging.media import prepare_media

            prepare_media(message)
        result = get_backend().send(number.phone_number_id, graph_payload(message))
    except SendError as error:
        record_failure(message, attempt, error)
        return
    record_acceptance(message, attempt, result.wamid)


def reserve_send_slot(number):
    """Take the next sending slot of this business number; return seconds to wait for it.

    Slots are 1/WHATSAPP_SEND_RATE_PER_SECOND apart and shared by every worker through the
    number's row (locked for the moment it takes to move it forward).
    """
    spacing = timedelta(seconds=1 / settings.WHATSAPP_SEND_RATE_PER_SECOND)
    with transaction.atomic():
        slot = (
            BusinessNumber.objects.select_for_update()
            .filter(pk=number.pk)
            .values_list("next_send_slot", flat=True)
            .get()
        )
        now = timezone.now()
        slot = max(slot or now, now)
        BusinessNumber.objects.filter(pk=number.pk).update(next_send_slot=slot + spacing)
    return (slot - now).total_seconds()


def record_acceptance(message, attempt, wamid):
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(wamid=wamid, claimed_at=None)
        message.wamid = wamid
        SendAttempt.objects.filter(pk=attempt.pk).update(outcome=SendAttempt.Outcome.ACCEPTED)
        if message.type == "reaction":
            target = Message.objects.filter(wamid=message.target_wamid).first()
            if target and apply_annotation(message, target):
                announce(target.conversation_id, target.pk)
        apply_pending_statuses(message)
        # Accepted by the Cloud API means it reached WhatsApp's servers: one tick. Statuses
        # that already arrived (delivered, failed) are not moved back by this.
        advance_status(message.pk, Message.Status.SENT, timezone.now())
        announce(message.conversation_id, message.pk)
    logger.info("message %s accepted (attempt %s)", message.pk, attempt.number)


def record_failure(message, attempt, error):
    number = message.conversation.business_number
    logger.warning(
        "message %s attempt %s failed: code %s%s",
        message.pk,
        attempt.number,
        error.code,
        " (retryable)" if error.retryable else "",
    )
    outcome_fields = {"error_code": error.code, "error_title": error.title[:255]}
    with transaction.atomic():
        messages = Message.objects.filter(pk=message.pk)
        if error.stop_sending:
            pause_sending(number, error)
            messages.update(claimed_at=None)  # waits, pending, for resume_sending()
            outcome = SendAttempt.Outcome.RETRY
        elif error.ambiguous:
            messages.update(status=Message.Status.UNKNOWN, claimed_at=None)
            outcome = SendAttempt.Outcome.UNKNOWN
        elif error.retryable and message.attempts < settings.WHATSAPP_SEND_MAX_ATTEMPTS:
            due = timezone.now() + backoff(message.attempts)
            messages.update(claimed_at=None, next_attempt_at=due)
            outcome = SendAttempt.Outcome.RETRY
            transaction.on_commit(lambda: enqueue_send(message.pk, run_after=due))
        else:
            messages.update(
                status=Message.Status.FAILED,
                status_at=timezone.now(),
                claimed_at=None,
                error_code=error.code,
                error_title=error.title[:255],
                error_details=error.details,
            )
            outcome = SendAttempt.Outcome.FAILED
        SendAttempt.objects.filter(pk=attempt.pk).update(outcome=outcome, **outcome_fields)
        announce(message.conversation_id, message.pk)


def pause_sending(number, error):
    """Meta rejected the access token: stop sending from this number until staff act."""
    BusinessNumber.objects.filter(pk=number.pk, sending_paused_at__isnull=True).update(
        sending_paused_at=timezone.now(),
        paused_reason=f"{error.title} (code {error.code})"[:255],
    )
    logger.error("sending paused for business number %s: code %s", number.pk, error.code)


def resume_sending(number):
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
            transaction.on_commit(lambda pk=pk: enqueue_send(pk))
    return len(waiting)


def retry_message(message, user):
    """Send a failed message again, as a new attempt on the same row (audited)."""
    with transaction.atomic():
        reset = Message.objects.filter(pk=message.pk, status=Message.Status.FAILED).update(
            status=Message.Status.PENDING,
            status_at=None,
            error_code=None,
            error_title="",
            error_details="",
            next_attempt_at=None,
            claimed_at=None,
        )
        if reset:
            announce(message.conversation_id, message.pk)
            transaction.on_commit(lambda: send_message.enqueue(message.pk, requested_by=user.pk))
    return bool(reset)


@task
def send_read_receipt(message_id):
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
        # A read receipt is a courtesy: log and move on, never retry into a storm.
        logger.info("read receipt for message %s not sent: code %s", message.pk, error.code)


@task
def simulate_status(phone_number_id, wamid, recipient, status):
    """The console transport's stand-in for Meta: a status webhook, applied for real."""
    from messaging import payloads
    from messaging.ingest import receive

    body = payloads.envelope(
        payloads.value(
            phone_number_id=phone_number_id,
            statuses=[payloads.status(wamid, status, recipient=recipient)],
        )
    )
    receive(payloads.encode(body))


def sweep_outbox(now=None):
    """The safety net, run periodically by the maintenance task.

    - A claim older than the lease means a worker died mid-send: it may have reached Meta,
      so the message becomes "unknown" (a status webhook settles it), never resent.
    - A pending, unclaimed message that is overdue lost its task: queue it again (claiming
      makes a duplicate harmless).
    """
    now = now or timezone.now()
    lease = timedelta(seconds=settings.WHATSAPP_SEND_LEASE_SECONDS)
    abandoned = list(
        Message.objects.filter(
            direction=Message.Direction.OUTBOUND,
            status=Message.Status.PENDING,
            wamid__isnull=True,
            claimed_at__lt=now - lease,
        ).values_list("pk", "conversation_id")
    )
    for pk, conversation_id in abandoned:
        with transaction.atomic():
            if Message.objects.filter(pk=pk, claimed_at__lt=now - lease).update(
                status=Message.Status.UNKNOWN, claimed_at=None
            ):
                announce(conversation_id, pk)
    overdue = Message.objects.filter(
        direction=Message.Direction.OUTBOUND,
        status=Message.Status.PENDING,
        wamid__isnull=True,
        claimed_at__isnull=True,
        created_at__lt=now - lease,
        conversation__business_number__sending_paused_at__isnull=True,
    ).exclude(next_attempt_at__gt=now - lease)
    requeued = 0
    for pk in overdue.values_list("pk", flat=True):
        enqueue_send(pk)
        requeued += 1
    if abandoned or requeued:
        logger.warning(
            "outbox sweep: %d abandoned sends marked unknown, %d messages queued again",
            len(abandoned),
            requeued,
        )
    return len(abandoned), requeued
