"""Set-based apply: the ordinary messages and statuses of a body in a few statements.

Rows are inserted and locked in a fixed order (by key, by id), so concurrent batches touching
the same rows queue instead of deadlocking.
"""

from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from messaging.contacts import db_safe_ref, identity_changes, resolve_contact
from messaging.db import db_safe, insert_new, mark_saved
from messaging.events import ContactChange, ContactRef, Event, InboundMessage, StatusUpdate
from messaging.ingest.annotations import apply_waiting_annotations
from messaging.ingest.context import ApplyContext, business_number
from messaging.ingest.statuses import status_change
from messaging.models import Contact, Conversation, InboxChange, Message, StatusEvent


def apply_in_bulk(items: list[Event], context: ApplyContext) -> list[Event]:
    """Apply the ordinary inbound messages and statuses of `items` set-based; return the
    items left to apply one by one (in payload order). A body that reports a number or
    BSUID change is applied item by item, in payload order: the items after it may depend
    on the new identity.
    """
    if any(isinstance(item, ContactChange) for item in items):
        return items
    messages = [i for i in items if isinstance(i, InboundMessage) and _is_ordinary_message(i)]
    statuses = [i for i in items if isinstance(i, StatusUpdate) and _is_ordinary_status(i)]
    chosen = {id(item) for item in messages + statuses}
    leftovers: list[Event] = [item for item in items if id(item) not in chosen]
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
        item.type not in Message.NOT_WRITTEN_TYPES
        and not item.target_wamid
        and bool(item.contact.wa_id or item.contact.user_id)
        and bool(db_safe(item.wamid))
    )


def _is_ordinary_status(item: StatusUpdate) -> bool:
    # A status pairing the recipient's phone with their BSUID may merge contacts.
    return not (item.recipient.wa_id and item.recipient.user_id)


def _apply_messages(items: list[InboundMessage], context: ApplyContext) -> list[InboundMessage]:
    businesses = {ref: business_number(ref, context) for ref in {item.business for item in items}}
    refs = {item.contact: db_safe_ref(item.contact) for item in items}
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
    built = sorted(
        (
            (
                Message.from_inbound(
                    item, conversations[businesses[item.business].pk, sender[id(item)].pk]
                ),
                item,
            )
            for item in items
        ),
        key=lambda pair: pair[0].timestamp,
    )
    messages = [message for message, _item in built]
    inserted = {wamid: pk for pk, wamid in insert_new(Message, messages, returning=("id", "wamid"))}
    new = []
    for message, item in built:
        owner = context.of(item)
        owner.counts[InboundMessage.__name__] += 1
        owner.contacts.add(sender[id(item)].pk)
        # A wamid twice in one body (or in bodies applied together) is inserted once: only
        # its first copy gets the row.
        pk = inserted.pop(message.wamid, None)
        if pk is None:
            owner.counts["duplicate"] += 1
            continue
        mark_saved(message, pk)
        new.append(message)
        owner.new_messages.append(pk)
        owner.activity.append(message)
    new.sort(key=lambda message: (message.timestamp, message.pk))
    InboxChange.objects.bulk_create(
        InboxChange(conversation_id=message.conversation_id, message_id=message.pk)
        for message in new
    )
    apply_waiting_annotations(new)
    return leftovers


def _contacts_for(refs: set[ContactRef]) -> dict[ContactRef, Contact]:
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


def _find_contacts(refs: Iterable[ContactRef]) -> dict[ContactRef, list[Contact]]:
    wa_ids = {ref.wa_id for ref in refs if ref.wa_id}
    user_ids = {ref.user_id for ref in refs if ref.user_id}
    by_wa_id: dict[str, Contact] = {}
    by_user_id: dict[str, Contact] = {}
    for contact in Contact.objects.filter(Q(wa_id__in=wa_ids) | Q(user_id__in=user_ids)):
        if contact.wa_id:
            by_wa_id[contact.wa_id] = contact
        if contact.user_id:
            by_user_id[contact.user_id] = contact
    found = {}
    for ref in refs:
        candidates = (by_wa_id.get(ref.wa_id), by_user_id.get(ref.user_id))
        matches = {contact for contact in candidates if contact is not None}
        found[ref] = sorted(matches, key=lambda contact: contact.pk)
    return found


def _conversations_for(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """{(business number id, contact id): conversation id}, the missing ones created."""

    def find() -> dict[tuple[int, int], int]:
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


def _apply_statuses(items: list[StatusUpdate], context: ApplyContext) -> list[StatusUpdate]:
    for ref in {item.business for item in items}:
        business_number(ref, context)
    wamids = sorted({db_safe(item.wamid) for item in items})
    # Locked in id order: concurrent batches about the same messages queue instead of
    # deadlocking, and each sees the status the other one left.
    rows = (
        Message.objects.filter(wamid__in=wamids)
        .order_by("pk")
        .select_for_update(no_key=True)
        .values_list("wamid", "pk", "conversation_id", "status", "direction")
    )
    messages = {
        wamid: (pk, conversation, status, direction)
        for wamid, pk, conversation, status, direction in rows
    }
    message_ids = {wamid: pk for wamid, (pk, *_rest) in messages.items()}
    # Our own message whose send timed out: adopt_wamid links it, one by one (rare).
    leftovers = [
        item
        for item in items
        if db_safe(item.wamid) not in messages and item.our_message_id is not None
    ]
    adopting = {id(item) for item in leftovers}
    items = [item for item in items if id(item) not in adopting]
    events = sorted(
        (StatusEvent.from_update(item, message_ids.get(db_safe(item.wamid))) for item in items),
        key=lambda event: (event.wamid, event.status, event.timestamp),
    )
    inserted = {
        tuple(row[1:])
        for row in insert_new(StatusEvent, events, returning=("id", "wamid", "status", "timestamp"))
    }
    # Each new status applied in payload order, as advance_status would: the rows are
    # locked, so the outcome is computed here and written in one UPDATE per kind.
    current = {pk: status for pk, _conversation, status, _direction in messages.values()}
    changes: dict[int, dict[str, Any]] = {}
    for item in items:
        owner = context.of(item)
        owner.counts[StatusUpdate.__name__] += 1
        key = (db_safe(item.wamid), db_safe(item.status[:20]), item.timestamp)
        if key not in inserted:
            owner.counts["duplicate"] += 1
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
    return leftovers
