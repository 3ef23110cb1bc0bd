"""Webhook ingestion: store the raw body once, then apply its events idempotently.

Meta → signature check (views) → `receive()` stores the raw body → `apply_webhook_event()`
parses it into normalised events and applies each one. Every step is safe to repeat: Meta
delivers at least once, in any order, and `manage.py replay_webhooks` re-applies stored bodies.
"""

import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from messaging.changes import announce
from messaging.contacts import change_contact_ids, resolve_contact
from messaging.events import (
    BusinessRef,
    ContactChange,
    IgnoredField,
    InboundMessage,
    StatusUpdate,
    TemplateUpdate,
    WebhookError,
)
from messaging.models import (
    STATUS_RANK,
    BusinessNumber,
    Conversation,
    Message,
    StatusEvent,
    WebhookEvent,
)
from messaging.parser import parse_webhook
from messaging.storable import storable
from privacy.scrub import Person, erased_ids, event_ids, is_erased, scrub_webhook_event

logger = logging.getLogger(__name__)

# Message types that are about another message rather than new content: they neither count
# as unread nor open the 24-hour window.
ANNOTATION_TYPES = {"reaction", "edit", "revoke"}
# Inbound types that do not open the customer-service window: Meta's own notices, and
# annotations (conservative: a wrongly open window means a failed send).
NO_WINDOW_TYPES = ANNOTATION_TYPES | {"system"}
NOT_UNREAD_TYPES = ANNOTATION_TYPES | {"system"}
# Our outbound messages carry "waq:<message id>" as biz_opaque_callback_data; Meta echoes it
# in status webhooks (see messaging.sending).
CALLBACK_PREFIX = "waq:"


def receive(body: bytes) -> WebhookEvent:
    """Store a verified webhook body (once per distinct body), then apply it.

    The raw event is committed before applying starts, so a failure while applying loses
    nothing; it is recorded on the event for `replay_webhooks`. Database errors while storing
    propagate: the caller answers 5xx and Meta retries.
    """
    digest = hashlib.sha256(body).hexdigest()
    event, created = WebhookEvent.objects.get_or_create(body_sha256=digest, defaults={"body": body})
    if created or event.state != WebhookEvent.State.PROCESSED:
        apply_webhook_event(event)
    return event


@dataclass
class ApplyContext:
    """What applying one webhook body learns along the way."""

    businesses: dict = field(default_factory=dict)
    contacts: set = field(default_factory=set)
    counts: Counter = field(default_factory=Counter)
    problems: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    # Items dropped because their person was erased after them (Meta redelivers for 7
    # days): whom and which messages to scrub from this raw copy.
    erased: Person = field(default_factory=Person)


def apply_webhook_event(event: WebhookEvent) -> WebhookEvent:
    """Parse and apply a stored body; record the outcome on the event. Never raises for bad
    content: one failing item is recorded and the others still apply."""
    try:
        payload = json.loads(bytes(event.body))
    except (ValueError, RecursionError) as exc:  # not JSON, or nested beyond reason
        return _finish(event, ApplyContext(failures=[f"body is not JSON ({type(exc).__name__})"]))

    context = ApplyContext()
    try:
        items = parse_webhook(payload)
        # Erased people, by tombstone: one query for the whole body (privacy.scrub).
        erased = erased_ids(items)
        with transaction.atomic():
            for item in items:
                if is_erased(item, erased):
                    context.counts["erased"] += 1
                    context.erased.ids |= event_ids(item)
                    context.erased.wamids.add(item.wamid)
                    continue
                try:
                    with transaction.atomic():
                        context.contacts |= apply_event(item, context)
                except Exception as exc:
                    # One item must not stop the rest. Only the exception type is kept: its
                    # message could quote message content.
                    context.failures.append(f"{item.path}: {type(exc).__name__}")
                    logger.warning(
                        "webhook %s: applying %s at %s failed (%s)",
                        event.pk,
                        type(item).__name__,
                        item.path,
                        type(exc).__name__,
                    )
            if context.contacts:
                event.contacts.add(*context.contacts)
    except Exception as exc:  # e.g. the connection dropped mid-batch: record, don't raise
        context.failures.append(f"applying stopped: {type(exc).__name__}")
        logger.exception("webhook %s: applying stopped", event.pk)
    if context.erased and _scrub_erased(event, context) == "deleted":
        event.state = WebhookEvent.State.PROCESSED  # nothing else was in it
        return event
    return _finish(event, context)


def _scrub_erased(event, context):
    """Remove erased people from this raw copy of a redelivery: rewritten without their
    items (body_sha256 recomputed), or deleted when nothing else is left or another row
    already holds the same scrubbed body. The next identical redelivery is stored, dropped
    and scrubbed the same way, so it never brings anything back."""
    try:
        return scrub_webhook_event(event, context.erased)
    except Exception as exc:  # left FAILED: replay_webhooks scrubs it again
        context.failures.append(f"scrubbing erased people failed: {type(exc).__name__}")
        logger.exception("webhook %s: scrubbing erased people failed", event.pk)
        return "failed"


def _finish(event, context):
    event.state = WebhookEvent.State.FAILED if context.failures else WebhookEvent.State.PROCESSED
    event.error = "\n".join(context.failures)
    event.summary = storable({"events": dict(context.counts), "problems": context.problems})
    event.attempts += 1
    event.processed_at = timezone.now()
    event.save(update_fields=["state", "error", "summary", "attempts", "processed_at"])
    if context.failures:
        logger.error("webhook %s: %d item(s) failed", event.pk, len(context.failures))
    return event


def apply_event(item, context: ApplyContext) -> set:
    """Apply one normalised event; return the pks of the contacts it concerns."""
    kind = type(item).__name__
    context.counts[kind] += 1
    match item:
        case InboundMessage():
            return apply_inbound_message(item, context)
        case StatusUpdate():
            return apply_status(item, context)
        case ContactChange():
            return apply_contact_change(item, context)
        case WebhookError():
            context.problems.append(
                {"path": item.path, "code": item.code, "title": item.title[:200]}
            )
            logger.warning(
                "webhook item %s reported error %s %s", item.path, item.code, item.title[:200]
            )
        case IgnoredField():
            context.counts[f"ignored:{item.field}"] += 1
        case TemplateUpdate():
            # Imported here: messaging.templates imports sending, which imports this module.
            from messaging.templates import apply_template_update

            apply_template_update(item)
    return set()


def business_number(ref: BusinessRef, context: ApplyContext) -> BusinessNumber:
    if ref.phone_number_id not in context.businesses:
        number, created = BusinessNumber.objects.get_or_create(
            phone_number_id=ref.phone_number_id,
            defaults={"display_phone_number": ref.display_phone_number, "waba_id": ref.waba_id},
        )
        if not created and (
            (ref.display_phone_number and ref.display_phone_number != number.display_phone_number)
            or (ref.waba_id and ref.waba_id != number.waba_id)
        ):
            number.display_phone_number = ref.display_phone_number or number.display_phone_number
            number.waba_id = ref.waba_id or number.waba_id
            number.save(update_fields=["display_phone_number", "waba_id"])
        context.businesses[ref.phone_number_id] = number
    return context.businesses[ref.phone_number_id]


def conversation_for(business, contact) -> Conversation:
    conversation = Conversation.objects.filter(business_number=business, contact=contact).first()
    if conversation:
        return conversation
    try:
        with transaction.atomic():
            return Conversation.objects.create(business_number=business, contact=contact)
    except IntegrityError:  # created concurrently
        return Conversation.objects.get(business_number=business, contact=contact)


def apply_inbound_message(item: InboundMessage, context: ApplyContext):
    business = business_number(item.business, context)
    contact = resolve_contact(item.contact)
    conversation = conversation_for(business, contact)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                conversation=conversation,
                direction=Message.Direction.INBOUND,
                type=storable(item.type[:40]),
                wamid=storable(item.wamid),
                timestamp=item.timestamp,
                text=storable(item.text),
                data=storable(item.data),
                reply_to_wamid=storable(item.reply_to_wamid),
                target_wamid=storable(item.target_wamid),
                status=Message.Status.RECEIVED,
            )
    except IntegrityError:
        if Message.objects.filter(wamid=item.wamid).exists():
            context.counts["duplicate"] += 1
            return {contact.pk}  # a redelivery: the first copy already did everything below
        raise
    record_activity(conversation, message)
    announce(conversation.pk, message.pk)
    # Routing and automatic replies run in a task once this new row has committed, never
    # inside the webhook request (a redelivery takes the duplicate branch above: no rerun).
    transaction.on_commit(lambda: _enqueue_automation(message.pk), robust=True)
    if item.target_wamid:
        target = Message.objects.filter(wamid=item.target_wamid).first()
        if target and apply_annotation(message, target):
            announce(target.conversation_id, target.pk)
    # Annotations that arrived before this message (delivery is unordered).
    for annotation in Message.objects.filter(target_wamid=item.wamid).order_by("timestamp", "pk"):
        apply_annotation(annotation, message)
    return {contact.pk}


def _enqueue_automation(message_id):
    # Imported here: automation builds on this module.
    from automation.tasks import enqueue_for_message

    enqueue_for_message(message_id)


def record_activity(conversation, message):
    """Move the conversation's counters forward for a new message, by Meta's timestamp."""
    updates = {}
    if message.type not in {"edit", "revoke"}:
        newer = Q(last_message_at__isnull=True) | Q(last_message_at__lte=message.timestamp)
        updates["last_message_at"] = Case(
            When(newer, then=Value(message.timestamp)), default=F("last_message_at")
        )
        updates["last_message"] = Case(
            When(newer, then=Value(message.pk)),
            default=F("last_message"),
            output_field=Conversation._meta.get_field("last_message"),
        )
    if message.direction == Message.Direction.INBOUND and message.type not in NOT_UNREAD_TYPES:
        updates["unread_count"] = F("unread_count") + 1
        updates["state"] = Value(Conversation.State.OPEN)
    if message.direction == Message.Direction.INBOUND and message.type not in NO_WINDOW_TYPES:
        updates["last_inbound_at"] = Case(
            When(
                Q(last_inbound_at__isnull=True) | Q(last_inbound_at__lt=message.timestamp),
                then=Value(message.timestamp),
            ),
            default=F("last_inbound_at"),
        )
    if updates:
        Conversation.objects.filter(pk=conversation.pk).update(**updates)


def apply_annotation(annotation: Message, target: Message) -> bool:
    """Apply a reaction, edit or revoke to the message it targets (idempotent).

    Returns whether the target changed.
    """
    if annotation.conversation_id != target.conversation_id or target.revoked_at:
        return False
    if target.content_redacted_at:
        return False  # its content is gone under retention policy: nothing to add back
    if annotation.type == "reaction":
        who = "contact" if annotation.direction == Message.Direction.INBOUND else "business"
        emoji = annotation.data.get("emoji", "")
        reactions = {**target.reactions}
        if emoji:
            reactions[who] = emoji
        else:
            reactions.pop(who, None)  # an un-reaction
        if reactions == target.reactions:
            return False
        target.reactions = reactions
        target.save(update_fields=["reactions"])
    elif annotation.type == "edit":
        if target.edited_at and target.edited_at >= annotation.timestamp:
            return False  # an older edit arriving late must not undo a newer one
        edited = annotation.data.get("message", {})
        target.text = annotation.text
        target.data = {**target.data, **edited.get("data", {})}
        target.edited_at = annotation.timestamp
        target.save(update_fields=["text", "data", "edited_at"])
    elif annotation.type == "revoke":
        # The sender deleted it for everyone: keep that it existed, not what it said.
        target.text = ""
        target.data = {}
        target.revoked_at = annotation.timestamp
        target.save(update_fields=["text", "data", "revoked_at"])
    else:
        return False
    return True


def apply_status(item: StatusUpdate, context: ApplyContext):
    business_number(item.business, context)
    recipient = item.recipient
    touched = set()
    if recipient.wa_id and recipient.user_id:
        # A status may pair the recipient's phone with their BSUID; never creates a contact.
        contact = resolve_contact(recipient, create=False)
        if contact:
            touched.add(contact.pk)
    message_id, conversation_id = (
        Message.objects.filter(wamid=item.wamid).values_list("pk", "conversation_id").first()
        or adopt_wamid(item)
        or (None, None)
    )
    try:
        with transaction.atomic():
            StatusEvent.objects.create(
                wamid=storable(item.wamid),
                message_id=message_id,
                status=storable(item.status[:20]),
                timestamp=item.timestamp,
                recipient_id=storable(recipient.wa_id or recipient.user_id),
                conversation_info=storable(item.conversation),
                pricing=storable(item.pricing),
                errors=storable(item.errors),
            )
    except IntegrityError:
        context.counts["duplicate"] += 1
        return touched
    if message_id and advance_status(message_id, item.status, item.timestamp, item.errors):
        announce(conversation_id, message_id)
    return touched


def adopt_wamid(item: StatusUpdate):
    """A status for a wamid we never recorded, carrying our own message id as callback data:
    the send timed out after Meta took it. The message learns its wamid now."""
    if not item.callback_data.startswith(CALLBACK_PREFIX):
        return None
    try:
        pk = int(item.callback_data.removeprefix(CALLBACK_PREFIX))
    except ValueError:
        return None
    adopted = Message.objects.filter(
        pk=pk, direction=Message.Direction.OUTBOUND, wamid__isnull=True
    ).update(wamid=item.wamid, claimed_at=None)
    if not adopted:
        return None
    return Message.objects.filter(pk=pk).values_list("pk", "conversation_id").first()


def advance_status(message_id, status, timestamp, errors=()) -> bool:
    """Move a message's status forward, never back; `failed` wins and then stays.

    Conditional UPDATEs make this safe under concurrency and in any arrival order. Returns
    whether the message changed.
    """
    messages = Message.objects.filter(pk=message_id, direction=Message.Direction.OUTBOUND)
    if status == Message.Status.FAILED:
        error = errors[0] if errors else {}
        return (
            messages.exclude(status=Message.Status.FAILED).update(
                status=Message.Status.FAILED,
                status_at=timestamp,
                error_code=error.get("code"),
                error_title=(error.get("title") or "")[:255],
                error_details=error.get("details") or error.get("message") or "",
            )
            > 0
        )
    if status in STATUS_RANK:
        lower = [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]
        return messages.filter(status__in=lower).update(status=status, status_at=timestamp) > 0
    return False


def apply_pending_statuses(message: Message):
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
        announce(message.conversation_id, message.pk)
    message.refresh_from_db()


def apply_contact_change(item: ContactChange, context: ApplyContext):
    business_number(item.business, context)
    if item.kind not in {"number_changed", "user_id_changed"}:
        return set()  # identity (security code) changes are shown via their system message
    contact = resolve_contact(item.contact, create=False)
    if contact is None:
        return set()
    change_contact_ids(contact, wa_id=item.new_wa_id, user_id=item.new_user_id)
    for conversation_id in contact.conversations.values_list("pk", flat=True):
        announce(conversation_id)
    return {contact.pk}
