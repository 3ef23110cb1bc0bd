"""Applying one stored body: parse it, apply its items, record the outcome on the row.

Ordinary messages and statuses go set-based (messaging.ingest.bulk); everything else, and
everything when the set-based step fails, item by item, each item in a savepoint of its own.
"""

import json
import logging
from collections import Counter
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from messaging import signals
from messaging.account_health.record import record_account_update
from messaging.contacts import change_contact_ids, resolve_contact
from messaging.db import db_safe
from messaging.events import (
    AccountUpdate,
    ContactChange,
    Event,
    IgnoredField,
    InboundMessage,
    StatusUpdate,
    TemplateUpdate,
    WebhookError,
)
from messaging.hooks import redelivery_guard
from messaging.ingest.annotations import apply_annotation, apply_waiting_annotations
from messaging.ingest.bulk import apply_in_bulk
from messaging.ingest.context import ApplyContext, business_number, own_number
from messaging.ingest.statuses import apply_status
from messaging.message_templates.webhooks import apply_template_update
from messaging.models import (
    BusinessNumber,
    Contact,
    Conversation,
    InboxChange,
    Message,
    WebhookEvent,
)
from messaging.parser import parse_webhook

logger = logging.getLogger(__name__)


def apply_webhook_event(event: WebhookEvent) -> WebhookEvent:
    """Parse and apply a stored body; record the outcome on the event. Never raises for bad
    content: one failing item is recorded and the others still apply.

    Ordinary messages and statuses are applied set-based, a few statements for the whole
    body (`apply_in_bulk`), anything else item by item. If the set-based step fails (a
    value the database refuses, a deadlock), everything is rolled back to the savepoint and
    applied again item by item, each item in a savepoint of its own.
    """
    try:
        payload = json.loads(bytes(event.body))
    except (ValueError, RecursionError) as exc:  # not JSON, or nested beyond reason
        return _finish(event, ApplyContext(failures=[f"body is not JSON ({type(exc).__name__})"]))

    context = ApplyContext()
    try:
        items = parse_webhook(payload)
        # Items the guard withholds (erased people's redeliveries: one tombstone query for
        # the whole body) are not applied, then scrubbed from this raw copy below.
        live, context.withheld = redelivery_guard().split(items, payload)
        if len(live) < len(items):
            context.counts["erased"] = len(items) - len(live)
        try:
            _apply_items(live, context, event, in_bulk=True)
        except _BulkFailed as failure:
            logger.warning(
                "webhook %s: applying in bulk failed (%s); applying item by item",
                event.pk,
                type(failure.__cause__).__name__,
            )
            context = ApplyContext(
                withheld=context.withheld, counts=+Counter(erased=len(items) - len(live))
            )
            _apply_items(live, context, event, in_bulk=False)
    except Exception as exc:  # e.g. the connection dropped mid-batch: record, don't raise
        context.failures.append(f"applying stopped: {type(exc).__name__}")
        logger.exception("webhook %s: applying stopped", event.pk)
    if context.withheld and _scrub_withheld(event, context) == "deleted":
        event.state = WebhookEvent.State.PROCESSED  # nothing else was in it
        return event
    return _finish(event, context)


class _BulkFailed(Exception):
    """The set-based step failed; its cause is the database's (or our) error."""


def _apply_items(
    items: list[Event], context: ApplyContext, event: WebhookEvent, *, in_bulk: bool
) -> None:
    _note_partly_read(items, context)
    with transaction.atomic():
        items = _set_aside_own_numbers(items, context)
        if in_bulk:
            try:
                items = apply_in_bulk(items, context)
            except Exception as exc:
                raise _BulkFailed from exc
        for item in items:
            apply_one(item, context, event)
        if context.contacts:
            event.contacts.add(*context.contacts)
        # Last: the conversation rows it locks stay locked only until the commit. Still part
        # of the set-based step: if it fails (a lock timeout), the body goes item by item.
        try:
            Conversation.record_activity(context.activity)
        except Exception as exc:
            raise _BulkFailed from exc
        if context.new_messages:
            # Routing and automatic replies run in a task once the new rows have
            # committed, never inside the webhook request: one task per body.
            ids = list(context.new_messages)
            transaction.on_commit(lambda: _announce_received(ids), robust=True)


def _note_partly_read(items: Iterable[Event], context: ApplyContext) -> None:
    """Messages kept although part of them could not be read (messaging.parser): listed
    among the body's problems, by path and the fields at fault, for whoever fixes the
    parser. The message itself is applied like any other."""
    for item in items:
        if isinstance(item, InboundMessage) and "not_understood" in item.data:
            reason = str(item.data["not_understood"])[:200]
            context.problems.append(
                {"path": item.path, "code": None, "title": f"not fully understood: {reason}"}
            )
            logger.warning("webhook item %s kept, not fully understood: %s", item.path, reason)


def _set_aside_own_numbers(items: list[Event], context: ApplyContext) -> list[Event]:
    """`items` without what one of our own business numbers sent: a number writing to itself
    or to another of ours is not a customer, so it gets no contact and no conversation.

    Set aside, not shown: a conversation is between one of our numbers and a customer, and
    answering our own number would let two numbers' automatic replies answer each other
    without end. What our number sent through this inbox is already on that number's own
    timeline; what it sent from the WhatsApp Business app is its own echo (Meta's
    smb_message_echoes), which the inbox does not import either. Each is listed among the
    body's problems, with the number that sent it, and the stored body keeps it whole: a
    replay brings it in if that ever changes.
    """
    senders = [item for item in items if isinstance(item, InboundMessage | ContactChange)]
    for ref in {item.business for item in senders if item.business.phone_number_id}:
        business_number(ref, context)  # a number seen for the first time is ours too
    kept: list[Event] = []
    for item in items:
        ours = None
        if isinstance(item, InboundMessage | ContactChange):
            ours = own_number(item.contact, context)
        if ours is None:
            kept.append(item)
            continue
        context.counts["own_number"] += 1
        # The number's id, not its phone number: the summary is shown in the admin.
        context.problems.append(
            {
                "path": item.path,
                "code": None,
                "title": f"sent by our own number {ours.phone_number_id}: not a customer, "
                "set aside",
            }
        )
    if len(kept) < len(items):
        logger.info("%d message(s) from our own numbers set aside", len(items) - len(kept))
    return kept


def apply_one(item: Event, context: ApplyContext, event: WebhookEvent) -> None:
    """Apply one event in a savepoint; a failure is recorded and stops nothing else."""
    new_messages = len(context.new_messages)
    try:
        with transaction.atomic():
            context.contacts |= apply_event(item, context)
    except Exception as exc:
        del context.new_messages[new_messages:]
        # Numbers created inside the rolled-back savepoint are gone: look them up again.
        context.businesses.clear()
        context.numbers = None
        # Only the exception type is kept: its message could quote message content.
        context.failures.append(f"{item.path}: {type(exc).__name__}")
        logger.warning(
            "webhook %s: applying %s at %s failed (%s)",
            event.pk,
            type(item).__name__,
            item.path,
            type(exc).__name__,
        )


def _scrub_withheld(event: WebhookEvent, context: ApplyContext) -> str:
    """Remove the withheld items from this raw copy of a redelivery (with privacy: erased
    people, rewritten without their items or deleted when nothing else is left). The next
    identical redelivery is stored, withheld and scrubbed the same way, so it never brings
    anything back."""
    try:
        return redelivery_guard().scrub(event, context.withheld)
    except Exception as exc:  # left FAILED: replay_webhooks scrubs it again
        context.failures.append(f"scrubbing erased people failed: {type(exc).__name__}")
        logger.exception("webhook %s: scrubbing erased people failed", event.pk)
        return "failed"


def _finish(event: WebhookEvent, context: ApplyContext) -> WebhookEvent:
    event.state = WebhookEvent.State.FAILED if context.failures else WebhookEvent.State.PROCESSED
    event.error = "\n".join(context.failures)
    event.summary = db_safe({"events": dict(context.counts), "problems": context.problems})
    event.attempts += 1
    event.processed_at = timezone.now()
    event.save(update_fields=["state", "error", "summary", "attempts", "processed_at"])
    if context.failures:
        logger.error("webhook %s: %d item(s) failed", event.pk, len(context.failures))
    return event


def apply_event(item: Event, context: ApplyContext) -> set[int]:
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
        case WebhookError(malformed=True):
            # An item we could not read at all: the body stays FAILED, so that
            # `replay_webhooks` applies it once the parser can (titles name fields only).
            context.failures.append(f"{item.path}: {item.title[:200]}")
            logger.warning("webhook item %s could not be read: %s", item.path, item.title[:200])
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
            apply_template_update(item)
        case AccountUpdate():
            record_account_update(item)
    return set()


def conversation_for(business: BusinessNumber, contact: Contact) -> Conversation:
    conversation = Conversation.objects.filter(business_number=business, contact=contact).first()
    if conversation:
        return conversation
    try:
        with transaction.atomic():
            return Conversation.objects.create(business_number=business, contact=contact)
    except IntegrityError:  # created concurrently
        return Conversation.objects.get(business_number=business, contact=contact)


def apply_inbound_message(item: InboundMessage, context: ApplyContext) -> set[int]:
    business = business_number(item.business, context)
    contact = resolve_contact(item.contact)
    conversation = conversation_for(business, contact)
    message = Message.from_inbound(item, conversation.pk)
    try:
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError:
        if Message.objects.filter(wamid=item.wamid).exists():
            context.counts["duplicate"] += 1
            return {contact.pk}  # a redelivery: the first copy already did everything below
        raise
    Conversation.record_activity([message])
    InboxChange.objects.record(conversation.pk, message.pk)
    # A redelivery takes the duplicate branch above: automation never runs twice.
    context.new_messages.append(message.pk)
    if item.target_wamid:
        target = Message.objects.filter(wamid=item.target_wamid).first()
        if target and apply_annotation(message, target):
            InboxChange.objects.record(target.conversation_id, target.pk)
    apply_waiting_annotations([message])
    return {contact.pk}


def _announce_received(message_ids: list[int]) -> None:
    signals.messages_received.send_robust(sender=apply_webhook_event, message_ids=message_ids)


def apply_contact_change(item: ContactChange, context: ApplyContext) -> set[int]:
    if item.business.phone_number_id:  # a user_id_update may come without metadata
        business_number(item.business, context)
    if item.kind not in {"number_changed", "user_id_changed"}:
        return set()  # identity (security code) changes are shown via their system message
    contact = resolve_contact(item.contact, create=False)
    if contact is None:
        return set()
    change_contact_ids(contact, wa_id=item.new_wa_id, user_id=item.new_user_id)
    for conversation_id in contact.conversations.values_list("pk", flat=True):
        InboxChange.objects.record(conversation_id)
    return {contact.pk}
