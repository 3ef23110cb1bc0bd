"""Finding, linking and merging contacts by phone number (wa_id) and BSUID (user_id)."""

import logging
from datetime import datetime
from typing import Literal, overload

from django.db import IntegrityError, transaction
from django.db.models import F, Field, ForeignObjectRel, Model, Q, UniqueConstraint
from django.utils import timezone

from messaging import signals
from messaging.db import db_safe
from messaging.events import ContactRef
from messaging.models import Contact, Conversation, InboxChange

logger = logging.getLogger(__name__)


def holders(ref: ContactRef) -> tuple[Contact | None, Contact | None]:
    """(the contact holding ref's BSUID, the contact holding its phone): either may be None,
    and they may be one contact or two."""
    query = Q()
    if ref.user_id:
        query |= Q(user_id=ref.user_id)
    if ref.wa_id:
        query |= Q(wa_id=ref.wa_id)
    found = list(Contact.objects.filter(query).order_by("pk")) if query else []
    by_user_id = next((c for c in found if ref.user_id and c.user_id == ref.user_id), None)
    by_wa_id = next((c for c in found if ref.wa_id and c.wa_id == ref.wa_id), None)
    return by_user_id, by_wa_id


@overload
def resolve_contact(ref: ContactRef, *, create: Literal[True] = True) -> Contact: ...
@overload
def resolve_contact(ref: ContactRef, *, create: bool) -> Contact | None: ...
def resolve_contact(ref: ContactRef, *, create: bool = True) -> Contact | None:
    """The one contact `ref` describes, created if new (unless create=False, then maybe None).

    Ids in `ref` are the newest truth, and the BSUID is the person (phone numbers change
    hands: WhatsApp recycles them). A BSUID seen with a phone is linked to it, and two
    records that arrived separately (one by phone, one by BSUID) are merged into one —
    unless the phone's record has a BSUID of its own: that is someone else, who had this
    number before. Their record keeps its history under its BSUID and gives up the number
    (`release_phone`). Names are refreshed when Meta sends them. Runs inside the caller's
    transaction.
    """
    if not (ref.user_id or ref.wa_id):
        raise ValueError("a contact needs a phone number or a business-scoped user id")
    ref = db_safe_ref(ref)
    for _attempt in range(3):
        by_user_id, by_wa_id = holders(ref)
        if by_wa_id and ref.user_id and by_wa_id.user_id not in (None, ref.user_id):
            release_phone(by_wa_id)
            by_wa_id = None
        contact = by_user_id or by_wa_id
        if contact is None:
            if not create:
                return None
            try:
                with transaction.atomic():
                    return Contact.objects.create(
                        wa_id=ref.wa_id or None,
                        user_id=ref.user_id or None,
                        parent_user_id=ref.parent_user_id,
                        username=ref.username,
                        profile_name=ref.profile_name,
                    )
            except IntegrityError:
                continue  # created concurrently by another request: find it again
        if by_user_id and by_wa_id and by_user_id.pk != by_wa_id.pk:
            # A record by phone alone and one by BSUID: one person, whatever number the
            # BSUID's record had (one number at a time: this one now). The older one stays.
            contact, other = sorted((by_user_id, by_wa_id), key=lambda c: c.pk)
            merge_contacts(contact, other)
        update_identity(contact, ref)
        return contact
    raise RuntimeError("could not resolve a contact after repeated concurrent changes")


def release_phone(contact: Contact) -> None:
    """`contact`'s phone number now belongs to someone else: the record keeps its BSUID,
    conversations and history, and no longer answers to (or sends to) that number."""
    Contact.objects.filter(pk=contact.pk).update(wa_id=None, updated_at=timezone.now())
    contact.wa_id = None
    # Ids only by record number: a phone number must never reach the logs.
    logger.warning(
        "contact %s: its phone number now belongs to another WhatsApp user (another BSUID); "
        "the number was detached from it",
        contact.pk,
    )
    for conversation_id in contact.conversations.values_list("pk", flat=True):
        InboxChange.objects.record(conversation_id)


IDENTITY_FIELDS = ("wa_id", "user_id", "parent_user_id", "username", "profile_name")


def db_safe_ref(ref: ContactRef) -> ContactRef:
    """`ref` with every id and name made safe to store (see messaging.db)."""
    return ContactRef(**{name: db_safe(getattr(ref, name)) for name in ref.__slots__})


def identity_changes(contact: Contact, ref: ContactRef) -> dict[str, str]:
    """What `ref` would change on `contact`: its non-empty values that differ."""
    return {
        name: value
        for name in IDENTITY_FIELDS
        if (value := getattr(ref, name) or getattr(contact, name)) != getattr(contact, name)
    }


def update_identity(contact: Contact, ref: ContactRef) -> None:
    changes = identity_changes(contact, ref)
    if changes:
        for name, value in changes.items():
            setattr(contact, name, value)
        contact.save(update_fields=[*changes, "updated_at"])


def change_contact_ids(contact: Contact, *, wa_id: str = "", user_id: str = "") -> None:
    """Apply a number or BSUID change Meta reported for `contact`.

    If another contact already holds the new id, that record is this person too (WhatsApp
    reports the change from their own account), so it is merged in rather than duplicated
    — unless it holds the new number under another BSUID than theirs: then it is the
    number's previous owner, and gives the number up instead.
    """
    bsuid = user_id or contact.user_id
    for field, value in (("wa_id", wa_id), ("user_id", user_id)):
        if not value or getattr(contact, field) == value:
            continue
        holder = Contact.objects.filter(**{field: value}).exclude(pk=contact.pk).first()
        if holder and field == "wa_id" and bsuid and holder.user_id not in (None, bsuid):
            release_phone(holder)
        elif holder:
            merge_contacts(contact, holder)
        setattr(contact, field, value)
        contact.save(update_fields=[field, "updated_at"])


@transaction.atomic
def merge_contacts(keep: Contact, other: Contact) -> None:
    """Fold `other` into `keep`, one person's two records becoming one: conversations move
    (two with the same business number become one), and so does every other row that
    refers to `other` (raw-event links, deletion requests, ...); then `other` is deleted,
    with nothing left to cascade to. `keep` takes the ids and names it lacks and the
    earlier creation time."""
    for conversation in Conversation.objects.filter(contact=other).order_by("pk"):
        twin = Conversation.objects.filter(
            contact=keep, business_number_id=conversation.business_number_id
        ).first()
        if twin is None:
            conversation.contact = keep
            conversation.save(update_fields=["contact"])
            InboxChange.objects.record(conversation.pk)
        else:
            merge_conversations(twin, conversation)
    move_dependents(Contact, keep, other)
    identity = ContactRef(
        wa_id=keep.wa_id or other.wa_id or "",
        user_id=keep.user_id or other.user_id or "",
        parent_user_id=keep.parent_user_id or other.parent_user_id,
        username=keep.username or other.username,
        profile_name=keep.profile_name or other.profile_name,
    )
    created_at = min(keep.created_at, other.created_at)
    other.delete()
    Contact.objects.filter(pk=keep.pk).update(created_at=created_at)
    keep.created_at = created_at
    update_identity(keep, identity)


@transaction.atomic
def merge_conversations(keep: Conversation, other: Conversation) -> None:
    """Fold conversation `other` into `keep` (same business number, same person): messages,
    notes, labels (each once), priority (the higher), automatic-reply claims, alerts and
    notifications move; counters combine as if it had been one conversation all along."""
    signals.conversations_merging.send(sender=merge_conversations, keep=keep, other=other)
    move_dependents(Conversation, keep, other)
    newer_last = other.last_message_at and (
        keep.last_message_at is None or other.last_message_at > keep.last_message_at
    )
    Conversation.objects.filter(pk=keep.pk).update(
        unread_count=F("unread_count") + other.unread_count,
        last_inbound_at=_latest(keep.last_inbound_at, other.last_inbound_at),
        last_message_at=_latest(keep.last_message_at, other.last_message_at),
        last_message_id=other.last_message_id if newer_last else keep.last_message_id,
        assignee_id=_assignee(keep, other),
        state=(
            Conversation.State.OPEN
            if Conversation.State.OPEN in (keep.state, other.state)
            else keep.state
        ),
        created_at=min(keep.created_at, other.created_at),
    )
    other.delete()
    keep.refresh_from_db()
    InboxChange.objects.record(keep.pk)


def move_dependents(model: type[Model], keep: Model, other: Model) -> None:
    """Point every row of any model that refers to `other` (a `model` instance) at `keep`.

    Found through `model`'s reverse relations, so a table added later is moved too rather
    than lost to the cascade when `other` is deleted. Where a unique constraint allows one
    such row only (a label on the conversation, the link of a raw event to the contact), a
    row `keep` already has stays and `other`'s copy is deleted.
    """
    for relation in model._meta.get_fields(include_hidden=True):
        # Many-to-many relations are moved through their link tables, which are relations
        # of their own here (hidden ones for automatic link tables).
        if not isinstance(relation, ForeignObjectRel) or relation.many_to_many:
            continue
        related, name = relation.related_model, relation.field.name
        rows = related._base_manager.filter(**{name: other})
        for fields in _unique_field_sets(related, name):
            rest = [field for field in fields if field != name]
            taken = related._base_manager.filter(**{name: keep})
            if not rest:
                if taken.exists():
                    rows.delete()
                continue
            clashes = Q()
            for values in taken.values_list(*rest):
                clashes |= Q(**dict(zip(rest, values, strict=True)))
            if clashes:
                rows.filter(clashes).delete()
        rows.update(**{name: keep})


def _unique_field_sets(model: type[Model], name: str) -> list[tuple[str, ...]]:
    """The sets of field names of `model` that must be unique together and include `name`
    (conditions of partial constraints are ignored: deduplicating a little more is safe)."""
    meta = model._meta
    field = meta.get_field(name)
    sets: list[tuple[str, ...]] = [(name,)] if isinstance(field, Field) and field.unique else []
    sets += [tuple(fields) for fields in meta.unique_together]
    sets += [
        tuple(constraint.fields)
        for constraint in meta.constraints
        if isinstance(constraint, UniqueConstraint) and constraint.fields
    ]
    return [fields for fields in sets if name in fields]


def _assignee(keep: Conversation, other: Conversation) -> int | None:
    """Whoever was assigned; if both were, the assignee of the conversation the person
    wrote in last (who is answering them now)."""
    assigned = [conversation for conversation in (keep, other) if conversation.assignee_id]
    if len(assigned) < 2:
        return assigned[0].assignee_id if assigned else None
    return max(assigned, key=lambda c: c.last_message_at or c.created_at).assignee_id


def _latest(*values: datetime | None) -> datetime | None:
    present = [value for value in values if value is not None]
    return max(present) if present else None
