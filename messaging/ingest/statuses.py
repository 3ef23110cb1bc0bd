"""The delivery status of our outbound messages: sent < delivered < read (played); failed wins.

A status moves a message forward, never back, in any arrival order and under concurrency;
one that arrives before we recorded the message's wamid waits (unlinked) until it is.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from messaging.contacts import resolve_contact
from messaging.events import StatusUpdate
from messaging.ingest.context import ApplyContext, business_number
from messaging.models import STATUS_RANK, InboxChange, Message, StatusEvent


def apply_status(item: StatusUpdate, context: ApplyContext) -> set[int]:
    """Record a status event (once: a redelivery is a duplicate) and apply it to our message,
    adopting the wamid of a send that timed out; returns the pks of the contacts it pairs."""
    business_number(item.business, context)
    recipient = item.recipient
    touched: set[int] = set()
    if recipient.wa_id and recipient.user_id:
        # A status may pair the recipient's phone with their BSUID; never creates a contact.
        contact = resolve_contact(recipient, create=False)
        if contact:
            touched.add(contact.pk)
    found = Message.objects.filter(wamid=item.wamid).values_list(
        "pk", "conversation_id"
    ).first() or adopt_wamid(item)
    try:
        with transaction.atomic():
            StatusEvent.from_update(item, found[0] if found else None).save(force_insert=True)
    except IntegrityError:
        context.of(item).counts["duplicate"] += 1
        return touched
    if found:
        message_id, conversation_id = found
        if advance_status(message_id, item.status, item.timestamp, item.errors):
            InboxChange.objects.record(conversation_id, message_id)
    return touched


def adopt_wamid(item: StatusUpdate) -> tuple[int, int] | None:
    """A status for a wamid we have not seen recorded, carrying our own message id as
    callback data: the send timed out after Meta took it, or the sending worker is still
    recording the wamid. Returns (message id, conversation id), or None."""
    pk = item.our_message_id
    if pk is None:
        return None
    # A late status for an earlier attempt (staff retried since) is that attempt's: taking
    # its wamid back would stop the retry from being sent.
    adopted = (
        Message.objects.filter(pk=pk, direction=Message.Direction.OUTBOUND, wamid__isnull=True)
        .exclude(send_attempts__wamid=item.wamid)
        .update(wamid=item.wamid, claimed_at=None)
    )
    if adopted:
        return Message.objects.filter(pk=pk).values_list("pk", "conversation_id").first()
    # Nothing to adopt: on PostgreSQL the UPDATE may have waited for the sending worker's
    # transaction (messaging.tasks.record_acceptance), which wrote this wamid and then, not
    # seeing this uncommitted status, found no pending statuses to apply. A new statement
    # sees its commit: link the status to the message here, or nobody ever will.
    return Message.objects.filter(wamid=item.wamid).values_list("pk", "conversation_id").first()


def advance_status(
    message_id: int, status: str, timestamp: datetime, errors: Sequence[dict[str, Any]] = ()
) -> bool:
    """Move a message's status forward, never back; `failed` wins and then stays.

    Conditional UPDATEs make this safe under concurrency and in any arrival order. Returns
    whether the message changed.
    """
    messages = Message.objects.filter(pk=message_id, direction=Message.Direction.OUTBOUND)
    if status == Message.Status.FAILED:
        return (
            messages.exclude(status=Message.Status.FAILED).update(
                status=Message.Status.FAILED, status_at=timestamp, **failure_fields(errors)
            )
            > 0
        )
    if status in STATUS_RANK:
        lower = [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]
        return messages.filter(status__in=lower).update(status=status, status_at=timestamp) > 0
    return False


def status_change(
    current: str, status: str, timestamp: datetime, errors: Sequence[dict[str, Any]] = ()
) -> dict[str, Any] | None:
    """The fields `advance_status` sets on an outbound message whose status is `current`,
    or None when it leaves it as it is (for callers that hold the row locked)."""
    if status == Message.Status.FAILED:
        if current == Message.Status.FAILED:
            return None
        return {"status": status, "status_at": timestamp, **failure_fields(errors)}
    if status in STATUS_RANK and STATUS_RANK.get(current, len(STATUS_RANK)) < STATUS_RANK[status]:
        return {"status": status, "status_at": timestamp}
    return None


def failure_fields(errors: Sequence[dict[str, Any]]) -> dict[str, Any]:
    error = errors[0] if errors else {}
    return {
        "error_code": error.get("code"),
        "error_title": (error.get("title") or "")[:255],
        "error_details": error.get("details") or error.get("message") or "",
    }


def apply_pending_statuses(message: Message) -> None:
    """Link and apply statuses that arrived before `message` had its wamid."""
    pending = list(
        StatusEvent.objects.filter(wamid=message.wamid, message__isnull=True).order_by(
            "timestamp", "pk"
        )
    )
    if not pending:
        return
    StatusEvent.objects.filter(pk__in=[event.pk for event in pending]).update(message=message)
    changed = [advance_status(message.pk, e.status, e.timestamp, e.errors) for e in pending]
    if any(changed):
        InboxChange.objects.record(message.conversation_id, message.pk)
    message.refresh_from_db()
