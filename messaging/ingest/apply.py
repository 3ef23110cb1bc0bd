"""Applying stored bodies, one or many together: parse them, apply their items, record
each outcome on its row.

Ordinary messages and statuses go set-based (messaging.ingest.bulk), for all the bodies at
once; everything else, and everything when the set-based step fails, item by item, each
item in a savepoint of its own.
"""

import json
import logging
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
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
    """Parse and apply one stored body; record the outcome on the event."""
    return apply_webhook_events([event])[0]


def apply_webhook_events(events: list[WebhookEvent]) -> list[WebhookEvent]:
    """Parse and apply stored bodies, in the order given; record each one's outcome on its
    row. Never raises for bad content: one failing item is recorded on its body and the
    others still apply.

    Ordinary messages and statuses are applied set-based, a few statements for all the
    bodies together (`apply_in_bulk`), anything else item by item. A body that reports a
    number or BSUID change goes alone, in its place: what follows it may depend on the new
    identity. If the set-based step fails (a value the database refuses, a deadlock), its
    bodies are rolled back to the savepoint and applied again item by item, each item in a
    savepoint of its own. A body left with nothing after the redelivery guard scrubbed it
    is deleted (its event comes back PROCESSED, without a row).
    """
    bodies = [_Body(event) for event in events]
    _withhold_erased([body for body in bodies if body.readable])
    for group in _groups([body for body in bodies if body.readable]):
        _apply_group(group)
    finished = []
    for body in bodies:
        if body.context.withheld and _scrub_withheld(body.event, body.context) == "deleted":
            body.event.state = WebhookEvent.State.PROCESSED  # nothing else was in it
            continue
        finished.append(body)
    _finish(finished)
    return [body.event for body in bodies]


class _Body:
    """A stored body being applied: its row, its items (`live`: those to apply; none when it
    could not be read) and its own context."""

    def __init__(self, event: WebhookEvent) -> None:
        self.event = event
        self.context = ApplyContext(event_id=event.pk)
        self.readable = False
        self.live: list[Event] = []
        self.erased = 0
        try:
            self.payload = json.loads(bytes(event.body))
        except (ValueError, RecursionError) as exc:  # not JSON, or nested beyond reason
            self.context.failures.append(f"body is not JSON ({type(exc).__name__})")
            return
        try:
            self.live = parse_webhook(self.payload)
            self.readable = True
        except Exception as exc:
            self.stopped(exc)

    def stopped(self, exc: Exception) -> None:
        self.readable, self.live = False, []
        self.context.failures.append(f"applying stopped: {type(exc).__name__}")
        logger.exception("webhook %s: applying stopped", self.event.pk)

    def withhold(self, live: list[Event], withheld: Any) -> None:
        """Apply only `live` of the parsed items; scrub `withheld` from the raw copy after."""
        self.erased = len(self.live) - len(live)
        self.live = live
        self.context.withheld = withheld
        self.start_over()

    def start_over(self) -> None:
        """A fresh context, for applying (again) from the start."""
        self.context = ApplyContext(event_id=self.event.pk, withheld=self.context.withheld)
        if self.erased:
            self.context.counts["erased"] = self.erased

    @property
    def changes_identities(self) -> bool:
        return any(isinstance(item, ContactChange) for item in self.live)


def _withhold_erased(bodies: list[_Body]) -> None:
    """Let the redelivery guard withhold items (erased people's redeliveries): one
    tombstone query for all the bodies, and body by body if that fails."""
    try:
        splits = redelivery_guard().split_bodies([(body.live, body.payload) for body in bodies])
    except Exception:
        splits = None
        logger.exception("webhook bodies: the redelivery guard failed; asking body by body")
    for n, body in enumerate(bodies):
        try:
            body.withhold(
                *(splits[n] if splits else redelivery_guard().split(body.live, body.payload))
            )
        except Exception as exc:
            body.stopped(exc)


def _groups(bodies: list["_Body"]) -> Iterable[list["_Body"]]:
    """Runs of bodies applied together, in order; a body that changes identities alone."""
    run: list[_Body] = []
    for body in bodies:
        if body.changes_identities:
            if run:
                yield run
                run = []
            yield [body]
        else:
            run.append(body)
    if run:
        yield run


def _apply_group(bodies: list["_Body"]) -> None:
    try:
        try:
            _apply_items(bodies, in_bulk=True)
        except _BulkFailed as failure:
            logger.warning(
                "webhook %s: applying in bulk failed (%s); applying item by item",
                ", ".join(str(body.event.pk) for body in bodies),
                type(failure.__cause__).__name__,
            )
            for body in bodies:
                body.start_over()
            _apply_items(bodies, in_bulk=False)
    except Exception as exc:  # e.g. the connection dropped mid-batch: record, don't raise
        for body in bodies:
            body.context.failures.append(f"applying stopped: {type(exc).__name__}")
        logger.exception(
            "webhook %s: applying stopped", ", ".join(str(body.event.pk) for body in bodies)
        )


class _BulkFailed(Exception):
    """The set-based step failed; its cause is the database's (or our) error."""


def _apply_items(bodies: list[_Body], *, in_bulk: bool) -> None:
    if len(bodies) == 1:
        context = bodies[0].context
    else:
        # Shared: the business numbers, looked up once; each item's outcome on its body's.
        context = ApplyContext(
            owners={id(item): body.context for body in bodies for item in body.live}
        )
    items = [item for body in bodies for item in body.live]
    _note_partly_read(items, context)
    with transaction.atomic():
        items = _set_aside_own_numbers(items, context)
        if in_bulk:
            try:
                items = apply_in_bulk(items, context)
            except Exception as exc:
                raise _BulkFailed from exc
        for item in items:
            apply_one(item, context)
        _link_contacts(bodies)
        # Last: the conversation rows it locks stay locked only until the commit. Still part
        # of the set-based step: if it fails (a lock timeout), the bodies go item by item.
        try:
            Conversation.record_activity(
                [message for body in bodies for message in body.context.activity]
            )
        except Exception as exc:
            raise _BulkFailed from exc
        new_messages = sorted(pk for body in bodies for pk in body.context.new_messages)
        if new_messages:
            # Routing and automatic replies run in a task once the new rows have
            # committed, never inside the webhook request: one task per group of bodies.
            transaction.on_commit(lambda: _announce_received(new_messages), robust=True)


def _link_contacts(bodies: list[_Body]) -> None:
    """Record whom each body mentions (erasure finds a person's raw bodies by it)."""
    link = WebhookEvent.contacts.through
    link.objects.bulk_create(
        [
            link(webhookevent_id=body.event.pk, contact_id=contact)
            for body in bodies
            for contact in sorted(body.context.contacts)
        ],
        ignore_conflicts=True,  # replays link again what is already linked
    )


def _note_partly_read(items: Iterable[Event], context: ApplyContext) -> None:
    """Messages kept although part of them could not be read (messaging.parser): listed
    among the body's problems, by path and the fields at fault, for whoever fixes the
    parser. The message itself is applied like any other."""
    for item in items:
        if isinstance(item, InboundMessage) and "not_understood" in item.data:
            reason = str(item.data["not_understood"])[:200]
            context.of(item).problems.append(
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
        context.of(item).counts["own_number"] += 1
        # The number's id, not its phone number: the summary is shown in the admin.
        context.of(item).problems.append(
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


def apply_one(item: Event, context: ApplyContext) -> None:
    """Apply one event in a savepoint; a failure is recorded on its body and stops nothing
    else."""
    owner = context.of(item)
    new_messages = len(owner.new_messages)
    try:
        with transaction.atomic():
            owner.contacts |= apply_event(item, context)
    except Exception as exc:
        del owner.new_messages[new_messages:]
        # Numbers created inside the rolled-back savepoint are gone: look them up again.
        context.businesses.clear()
        context.numbers = None
        # Only the exception type is kept: its message could quote message content.
        owner.failures.append(f"{item.path}: {type(exc).__name__}")
        logger.warning(
            "webhook %s: applying %s at %s failed (%s)",
            owner.event_id,
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


def _finish(bodies: list[_Body]) -> None:
    """Record each body's outcome on its row: one UPDATE for the bodies with the same
    outcome (usually all of them)."""
    now = timezone.now()
    outcomes: dict[tuple[str, str, str], list[_Body]] = {}
    for body in bodies:
        event, context = body.event, body.context
        event.state = (
            WebhookEvent.State.FAILED if context.failures else WebhookEvent.State.PROCESSED
        )
        event.error = "\n".join(context.failures)
        event.summary = db_safe({"events": dict(context.counts), "problems": context.problems})
        event.attempts += 1
        event.processed_at = now
        if context.failures:
            logger.error("webhook %s: %d item(s) failed", event.pk, len(context.failures))
        key = (event.state, event.error, json.dumps(event.summary, sort_keys=True))
        outcomes.setdefault(key, []).append(body)
    for same in outcomes.values():
        event = same[0].event
        WebhookEvent.objects.filter(pk__in=[body.event.pk for body in same]).update(
            state=event.state,
            error=event.error,
            summary=event.summary,
            attempts=F("attempts") + 1,
            processed_at=now,
        )


def apply_event(item: Event, context: ApplyContext) -> set[int]:
    """Apply one normalised event; return the pks of the contacts it concerns."""
    kind = type(item).__name__
    context.of(item).counts[kind] += 1
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
            context.of(item).failures.append(f"{item.path}: {item.title[:200]}")
            logger.warning("webhook item %s could not be read: %s", item.path, item.title[:200])
        case WebhookError():
            context.of(item).problems.append(
                {"path": item.path, "code": item.code, "title": item.title[:200]}
            )
            logger.warning(
                "webhook item %s reported error %s %s", item.path, item.code, item.title[:200]
            )
        case IgnoredField():
            context.of(item).counts[f"ignored:{item.field}"] += 1
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
            context.of(item).counts["duplicate"] += 1
            return {contact.pk}  # a redelivery: the first copy already did everything below
        raise
    Conversation.record_activity([message])
    InboxChange.objects.record(conversation.pk, message.pk)
    # A redelivery takes the duplicate branch above: automation never runs twice.
    context.of(item).new_messages.append(message.pk)
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
