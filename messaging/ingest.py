"""Webhook ingestion: store the raw body once, then apply its events idempotently.

Meta → signature check (views) → `accept()` stores the raw body and queues its application,
in one commit, before the 200 → the `apply_stored_webhook` task (run by `db_worker`) parses it
into normalised events and applies each one (`apply_webhook_event()`). The request does the
least work that makes the body durable: a slow or failing apply, a lock wait or a burst of a
week of redeliveries never delays Meta's acknowledgement, and a worker that dies mid-apply
leaves the body stored, unapplied, for the next run. `receive()` stores and applies at once,
in the calling process (demo data, the console transport's simulated statuses).

Every step is safe to repeat: Meta delivers at least once, in any order, and
`manage.py replay_webhooks` re-applies stored bodies.
"""

import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.constants import OnConflict
from django.tasks import TaskResultStatus, task
from django.utils import timezone

from messaging import signals
from messaging.changes import announce
from messaging.contacts import (
    change_contact_ids,
    identity_changes,
    resolve_contact,
    storable_ref,
)
from messaging.events import (
    CALLBACK_PREFIX,  # noqa: F401 - messaging.sending imports it from here
    BusinessRef,
    ContactChange,
    IgnoredField,
    InboundMessage,
    StatusUpdate,
    TemplateUpdate,
    WebhookError,
)
from messaging.hooks import redelivery_guard
from messaging.locks import hold_for_applying
from messaging.models import (
    STATUS_RANK,
    BusinessNumber,
    Contact,
    Conversation,
    InboxChange,
    Message,
    StatusEvent,
    WebhookEvent,
)
from messaging.parser import parse_webhook
from messaging.storable import storable

logger = logging.getLogger(__name__)

# Message types that are about another message rather than new content: they neither count
# as unread nor open the 24-hour window.
ANNOTATION_TYPES = {"reaction", "edit", "revoke"}
# Inbound types that do not open the customer-service window: Meta's own notices, and
# annotations (conservative: a wrongly open window means a failed send).
NO_WINDOW_TYPES = ANNOTATION_TYPES | {"system"}
NOT_UNREAD_TYPES = ANNOTATION_TYPES | {"system"}


# Applying stored bodies goes before anything else a worker has queued (sends, automation,
# upkeep): what staff see waits on it. Its own queue lets a deployment give it workers of
# its own (`db_worker --queue-name webhooks`).
WEBHOOK_QUEUE = "webhooks"
WEBHOOK_PRIORITY = 50


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


def queue_apply(event_id):
    apply_stored_webhook.enqueue(event_id)


@task(queue_name=WEBHOOK_QUEUE, priority=WEBHOOK_PRIORITY)
def apply_stored_webhook(event_id):
    apply_stored(event_id)


def apply_stored(event_id, *, again=False) -> WebhookEvent | None:
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


def requeue_stranded(now=None, *, older_than=timedelta(minutes=5)) -> int:
    """Queue again the bodies left unapplied without a live task: theirs failed outright
    (the database went away mid-apply) or its worker was killed mid-apply (the task row
    stays "running" for good; an apply takes milliseconds). Only when no apply task is
    waiting or running: a backlog is not stranded, and queueing it twice would only
    lengthen it."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    pending = DBTaskResult.objects.filter(task_path=apply_stored_webhook.module_path).filter(
        Q(status=TaskResultStatus.READY)
        | Q(status=TaskResultStatus.RUNNING, started_at__gte=now - older_than)
    )
    if pending.exists():
        return 0
    stranded = list(
        WebhookEvent.objects.filter(
            state=WebhookEvent.State.RECEIVED, received_at__lt=now - older_than
        ).values_list("pk", flat=True)
    )
    for event_id in stranded:
        queue_apply(event_id)
    if stranded:
        logger.warning("%d stored webhook bodies had no task: queued again", len(stranded))
    return len(stranded)


def insert_new(model, objs, *, returning=()):
    """INSERT … ON CONFLICT DO NOTHING RETURNING `returning`: the rows actually inserted.

    Rows that hit a unique constraint (a redelivery, or a concurrent request that inserted
    the same row first and committed) are skipped without an error and without a savepoint.
    A single object whose row was inserted gets its primary key when `returning` starts
    with "id" (with several, the caller maps the returned rows: skipped ones are absent).
    `bulk_create(ignore_conflicts=True)` cannot say which rows were new (Django drops the
    RETURNING clause then), so this asks the query compiler for it; SQLite ≥ 3.35 runs the
    same statement as INSERT OR IGNORE … RETURNING.
    """
    if not objs:
        return []
    using = router.db_for_write(model)
    meta = model._meta
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    returning_fields = [meta.get_field(name) for name in returning]
    size = max(connections[using].ops.bulk_batch_size(fields, objs), 1)
    rows = []
    for start in range(0, len(objs), size):
        rows += model._base_manager.using(using)._insert(
            objs[start : start + size],
            fields=fields,
            returning_fields=returning_fields,
            on_conflict=OnConflict.IGNORE,
        )
    if returning and returning[0] == "id" and len(objs) == 1 and rows:
        _mark_saved(objs[0], rows[0][0], using)
    return rows


def _mark_saved(obj, pk, using):
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = using


@dataclass
class ApplyContext:
    """What applying one webhook body learns along the way."""

    businesses: dict = field(default_factory=dict)
    contacts: set = field(default_factory=set)
    counts: Counter = field(default_factory=Counter)
    problems: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    # Items the redelivery guard withheld (messaging.hooks: with privacy installed, those
    # that name an erased person and could only bring them back), to be scrubbed from this
    # raw copy; falsy when none were.
    withheld: Any = None
    # New inbound messages (never redeliveries): announced (messages_received) after commit.
    new_messages: list = field(default_factory=list)
    # New ordinary inbound messages whose conversations' counters are still to move.
    activity: list = field(default_factory=list)


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


def _apply_items(items, context: ApplyContext, event: WebhookEvent, *, in_bulk: bool):
    _note_partly_read(items, context)
    with transaction.atomic():
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
            _record_activity_in_bulk(context.activity)
        except Exception as exc:
            raise _BulkFailed from exc
        if context.new_messages:
            # Routing and automatic replies run in a task once the new rows have
            # committed, never inside the webhook request: one task per body.
            ids = list(context.new_messages)
            transaction.on_commit(lambda: _announce_received(ids), robust=True)


def _note_partly_read(items, context: ApplyContext):
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


def apply_one(item, context: ApplyContext, event: WebhookEvent):
    """Apply one event in a savepoint; a failure is recorded and stops nothing else."""
    new_messages = len(context.new_messages)
    try:
        with transaction.atomic():
            context.contacts |= apply_event(item, context)
    except Exception as exc:
        del context.new_messages[new_messages:]
        # Numbers created inside the rolled-back savepoint are gone: look them up again.
        context.businesses.clear()
        # Only the exception type is kept: its message could quote message content.
        context.failures.append(f"{item.path}: {type(exc).__name__}")
        logger.warning(
            "webhook %s: applying %s at %s failed (%s)",
            event.pk,
            type(item).__name__,
            item.path,
            type(exc).__name__,
        )


# Set-based apply: the ordinary messages and statuses of a body in a few statements.

# Conversations whose counters one UPDATE moves (4 parameters each): well within SQLite's
# oldest limit of 999 parameters a statement.
ACTIVITY_CHUNK = 100


def apply_in_bulk(items, context: ApplyContext) -> list:
    """Apply the ordinary inbound messages and statuses of `items` set-based; return the
    items left to apply one by one (in payload order).

    Rows are inserted and locked in a fixed order (by key, by id), so concurrent batches
    touching the same rows queue instead of deadlocking. A body that reports a number or
    BSUID change is applied item by item, in payload order: the items after it may depend
    on the new identity.
    """
    if any(isinstance(item, ContactChange) for item in items):
        return items
    messages = [i for i in items if isinstance(i, InboundMessage) and _is_ordinary_message(i)]
    statuses = [i for i in items if isinstance(i, StatusUpdate) and _is_ordinary_status(i)]
    chosen = {id(item) for item in messages + statuses}
    leftovers = [item for item in items if id(item) not in chosen]
    if messages:
        leftovers += _apply_messages(messages, context)
    if statuses:
        leftovers += _apply_statuses(statuses, context)
    position = {id(item): n for n, item in enumerate(items)}
    return sorted(leftovers, key=lambda item: position[id(item)])


def _is_ordinary_message(item: InboundMessage) -> bool:
    """New content from a known kind of sender: not a reaction, edit, revoke or system
    notice (they change other rows), with an id to find the sender by, and a wamid the
    database accepts (SQLite's INSERT OR IGNORE would skip a refused row silently)."""
    return (
        item.type not in NOT_UNREAD_TYPES | NO_WINDOW_TYPES
        and not item.target_wamid
        and bool(item.contact.wa_id or item.contact.user_id)
        and bool(storable(item.wamid))
    )


def _is_ordinary_status(item: StatusUpdate) -> bool:
    # A status pairing the recipient's phone with their BSUID may merge contacts.
    return not (item.recipient.wa_id and item.recipient.user_id)


def _apply_messages(items, context: ApplyContext) -> list:
    businesses = {ref: business_number(ref, context) for ref in {item.business for item in items}}
    refs = {item.contact: storable_ref(item.contact) for item in items}
    contacts = _contacts_for(set(refs.values()))
    leftovers = [item for item in items if refs[item.contact] not in contacts]
    items = [item for item in items if refs[item.contact] in contacts]
    sender = {id(item): contacts[refs[item.contact]] for item in items}
    pairs = {(businesses[item.business].pk, sender[id(item)].pk) for item in items}
    conversations = _conversations_for(pairs)
    # By Meta's timestamp, then payload order (a stable sort): the ids of same-second
    # messages keep the order they were sent in, which the timeline shows, and bodies that
    # batch the same messages differently insert them, and lock their wamids, in the same
    # order.
    messages = sorted(
        (
            Message(
                conversation_id=conversations[businesses[item.business].pk, sender[id(item)].pk],
                direction=Message.Direction.INBOUND,
                type=storable(item.type[:40]),
                wamid=storable(item.wamid),
                timestamp=item.timestamp,
                text=storable(item.text),
                data=storable(item.data),
                reply_to_wamid=storable(item.reply_to_wamid),
                status=Message.Status.RECEIVED,
            )
            for item in items
        ),
        key=lambda message: message.timestamp,
    )
    inserted = {wamid: pk for pk, wamid in insert_new(Message, messages, returning=("id", "wamid"))}
    new = []
    for message in messages:
        # A wamid twice in one body is inserted once: only its first copy gets the row.
        pk = inserted.pop(message.wamid, None)
        if pk is not None:
            _mark_saved(message, pk, router.db_for_write(Message))
            new.append(message)
    new.sort(key=lambda message: (message.timestamp, message.pk))
    InboxChange.objects.bulk_create(
        InboxChange(conversation_id=message.conversation_id, message_id=message.pk)
        for message in new
    )
    _apply_waiting_annotations(new)
    context.counts[InboundMessage.__name__] += len(items)
    if len(items) > len(new):
        context.counts["duplicate"] += len(items) - len(new)
    context.contacts |= {contact.pk for contact in sender.values()}
    context.new_messages += [message.pk for message in new]
    context.activity += new
    return leftovers


def _contacts_for(refs) -> dict:
    """{ref: Contact} for the senders of a body, in a constant number of queries: found by
    either id, the new ones created in one INSERT. Only refs that link a BSUID to a phone,
    pair two records (a merge) or bring a new name go through `resolve_contact`. Refs that
    still match no single contact are left out: their items go one by one."""
    found = _find_contacts(refs)
    missing = sorted((ref for ref in refs if not found[ref]), key=lambda r: (r.wa_id, r.user_id))
    if missing:
        Contact.objects.bulk_create(
            [
                Contact(
                    wa_id=ref.wa_id or None,
                    user_id=ref.user_id or None,
                    parent_user_id=ref.parent_user_id,
                    username=ref.username,
                    profile_name=ref.profile_name,
                )
                for ref in missing
            ],
            ignore_conflicts=True,  # created meanwhile by a concurrent request: found below
        )
        found = _find_contacts(refs)
    unusual = [
        ref
        for ref, matches in found.items()
        if len(matches) > 1 or (matches and identity_changes(matches[0], ref))
    ]
    if unusual:
        for ref in sorted(unusual, key=lambda r: (r.wa_id, r.user_id)):
            resolve_contact(ref)
        found = _find_contacts(refs)
    return {ref: matches[0] for ref, matches in found.items() if len(matches) == 1}


def _find_contacts(refs) -> dict:
    wa_ids = {ref.wa_id for ref in refs if ref.wa_id}
    user_ids = {ref.user_id for ref in refs if ref.user_id}
    by_wa_id, by_user_id = {}, {}
    for contact in Contact.objects.filter(Q(wa_id__in=wa_ids) | Q(user_id__in=user_ids)):
        if contact.wa_id:
            by_wa_id[contact.wa_id] = contact
        if contact.user_id:
            by_user_id[contact.user_id] = contact
    found = {}
    for ref in refs:
        matches = {by_wa_id.get(ref.wa_id), by_user_id.get(ref.user_id)} - {None}
        found[ref] = sorted(matches, key=lambda contact: contact.pk)
    return found


def _conversations_for(pairs) -> dict:
    """{(business number id, contact id): conversation id}, the missing ones created."""

    def find():
        rows = Conversation.objects.filter(
            business_number_id__in={number for number, _ in pairs},
            contact_id__in={contact for _, contact in pairs},
        ).values_list("business_number_id", "contact_id", "pk")
        return {(number, contact): pk for number, contact, pk in rows}

    found = find()
    missing = sorted(pairs - found.keys())
    if missing:
        Conversation.objects.bulk_create(
            [Conversation(business_number_id=number, contact_id=pk) for number, pk in missing],
            ignore_conflicts=True,  # created meanwhile by a concurrent request: found below
        )
        found = find()
    return found


def _record_activity_in_bulk(messages):
    """`record_activity` for new ordinary inbound messages, per conversation at once: the
    newest message by Meta's timestamp, how many are unread, the window's start.

    Raw SQL: built from Case/When expressions, the same UPDATE took the ORM more CPU to
    compile (about 8 ms per conversation under cProfile) than the database took to run it.
    UPDATE … FROM VALUES works on PostgreSQL and SQLite ≥ 3.33 (both name the columns of
    VALUES column1, column2, …).
    """
    newest, arrived = {}, Counter()
    for message in messages:
        arrived[message.conversation_id] += 1
        best = newest.get(message.conversation_id)
        if best is None or (message.timestamp, message.pk) >= (best.timestamp, best.pk):
            newest[message.conversation_id] = message
    ids = sorted(arrived)
    if len(ids) > 1:
        # Row locks in id order: concurrent batches for the same conversations queue
        # instead of deadlocking (an UPDATE locks its rows in no promised order).
        list(
            Conversation.objects.filter(pk__in=ids)
            .order_by("pk")
            .select_for_update(no_key=True)
            .values_list("pk", flat=True)
        )
    connection = connections[router.db_for_write(Conversation)]
    adapt = connection.ops.adapt_datetimefield_value
    for start in range(0, len(ids), ACTIVITY_CHUNK):
        chunk = ids[start : start + ACTIVITY_CHUNK]
        params = []
        for pk in chunk:
            params += [pk, adapt(newest[pk].timestamp), newest[pk].pk, arrived[pk]]
        rows = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
        with connection.cursor() as cursor:
            cursor.execute(ACTIVITY_SQL.format(rows=rows), [Conversation.State.OPEN, *params])


# v: (conversation id, newest timestamp, its message id, messages that arrived). As in
# record_activity, the newest message by Meta's timestamp becomes the last one (a later
# arrival with an equal timestamp wins), and the window opens at the newest inbound time.
ACTIVITY_SQL = """
UPDATE messaging_conversation SET
    last_message_id = CASE
        WHEN last_message_at IS NULL OR last_message_at <= v.column2 THEN v.column3
        ELSE last_message_id END,
    last_message_at = CASE
        WHEN last_message_at IS NULL OR last_message_at <= v.column2 THEN v.column2
        ELSE last_message_at END,
    last_inbound_at = CASE
        WHEN last_inbound_at IS NULL OR last_inbound_at < v.column2 THEN v.column2
        ELSE last_inbound_at END,
    unread_count = unread_count + v.column4,
    state = %s
FROM (VALUES {rows}) AS v
WHERE messaging_conversation.id = v.column1
"""


def _apply_waiting_annotations(messages):
    """Reactions, edits and revokes that arrived before these new messages (one query,
    on the partial index message_target_idx; nearly always empty)."""
    targets = {message.wamid: message for message in messages}
    if not targets:
        return
    waiting = Message.objects.filter(target_wamid__in=targets).order_by("timestamp", "pk")
    for annotation in waiting:
        apply_annotation(annotation, targets[annotation.target_wamid])


def _apply_statuses(items, context: ApplyContext) -> list:
    for ref in {item.business for item in items}:
        business_number(ref, context)
    wamids = sorted({storable(item.wamid) for item in items})
    # Locked in id order: concurrent batches about the same messages queue instead of
    # deadlocking, and each sees the status the other one left.
    rows = (
        Message.objects.filter(wamid__in=wamids)
        .order_by("pk")
        .select_for_update(no_key=True)
        .values_list("wamid", "pk", "conversation_id", "status", "direction")
    )
    messages = {wamid: rest for wamid, *rest in rows}
    # Our own message whose send timed out: adopt_wamid links it, one by one (rare).
    leftovers = [
        item
        for item in items
        if storable(item.wamid) not in messages and item.our_message_id is not None
    ]
    adopting = {id(item) for item in leftovers}
    items = [item for item in items if id(item) not in adopting]
    events = sorted(
        (
            StatusEvent(
                wamid=storable(item.wamid),
                message_id=messages.get(storable(item.wamid), [None])[0],
                status=storable(item.status[:20]),
                timestamp=item.timestamp,
                recipient_id=storable(item.recipient.wa_id or item.recipient.user_id),
                conversation_info=storable(item.conversation),
                pricing=storable(item.pricing),
                errors=storable(item.errors),
            )
            for item in items
        ),
        key=lambda event: (event.wamid, event.status, event.timestamp),
    )
    inserted = {
        tuple(row[1:])
        for row in insert_new(StatusEvent, events, returning=("id", "wamid", "status", "timestamp"))
    }
    # Each new status applied in payload order, as advance_status would: the rows are
    # locked, so the outcome is computed here and written in one UPDATE per kind.
    current = {pk: status for pk, _conversation, status, _direction in messages.values()}
    changes, duplicates = {}, 0
    for item in items:
        key = (storable(item.wamid), storable(item.status[:20]), item.timestamp)
        if key not in inserted:
            duplicates += 1
            continue
        inserted.discard(key)  # a second copy in this body is a duplicate
        found = messages.get(key[0])
        if found is None or found[3] != Message.Direction.OUTBOUND:
            continue
        change = status_change(current[found[0]], item.status, item.timestamp, item.errors)
        if change:
            current[found[0]] = change["status"]
            changes[found[0]] = changes.get(found[0], {}) | change
    for failed in (True, False):
        group = {pk: c for pk, c in changes.items() if ("error_code" in c) is failed}
        if group:
            fields = list(next(iter(group.values())))
            Message.objects.bulk_update([Message(pk=pk, **c) for pk, c in group.items()], fields)
    conversation_of = {pk: conversation for pk, conversation, _s, _d in messages.values()}
    InboxChange.objects.bulk_create(
        InboxChange(conversation_id=conversation_of[pk], message_id=pk) for pk in sorted(changes)
    )
    context.counts[StatusUpdate.__name__] += len(items)
    if duplicates:
        context.counts["duplicate"] += duplicates
    return leftovers


def _scrub_withheld(event, context):
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
    # A redelivery takes the duplicate branch above: automation never runs twice.
    context.new_messages.append(message.pk)
    if item.target_wamid:
        target = Message.objects.filter(wamid=item.target_wamid).first()
        if target and apply_annotation(message, target):
            announce(target.conversation_id, target.pk)
    # Annotations that arrived before this message (delivery is unordered).
    for annotation in Message.objects.filter(target_wamid=item.wamid).order_by("timestamp", "pk"):
        apply_annotation(annotation, message)
    return {contact.pk}


def _announce_received(message_ids):
    signals.messages_received.send_robust(sender=apply_webhook_event, message_ids=message_ids)


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
        if not _is_latest_reaction(annotation, target):
            return False  # an older reaction (or un-reaction) arriving late changes nothing
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


def _is_latest_reaction(annotation: Message, target: Message) -> bool:
    """Whether `annotation` is its reactor's newest reaction to `target`, by Meta's timestamp
    (then arrival): each reaction replaces the one before, in whatever order they arrive.
    Outbound reactions count once Meta has accepted them (they have a wamid)."""
    newest = (
        Message.objects.filter(
            conversation_id=target.conversation_id,
            target_wamid=target.wamid,
            type="reaction",
            direction=annotation.direction,
            wamid__isnull=False,
        )
        .order_by("-timestamp", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return newest in (None, annotation.pk)


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


def advance_status(message_id, status, timestamp, errors=()) -> bool:
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


def status_change(current, status, timestamp, errors=()):
    """The fields `advance_status` sets on an outbound message whose status is `current`,
    or None when it leaves it as it is (for callers that hold the row locked)."""
    if status == Message.Status.FAILED:
        if current == Message.Status.FAILED:
            return None
        return {"status": status, "status_at": timestamp, **failure_fields(errors)}
    if status in STATUS_RANK and STATUS_RANK.get(current, len(STATUS_RANK)) < STATUS_RANK[status]:
        return {"status": status, "status_at": timestamp}
    return None


def failure_fields(errors):
    error = errors[0] if errors else {}
    return {
        "error_code": error.get("code"),
        "error_title": (error.get("title") or "")[:255],
        "error_details": error.get("details") or error.get("message") or "",
    }


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
    if item.business.phone_number_id:  # a user_id_update may come without metadata
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
