"""Finding, linking and merging contacts by phone number (wa_id) and BSUID (user_id)."""

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from messaging.changes import announce
from messaging.events import ContactRef
from messaging.models import Contact, Conversation, Message
from messaging.storable import storable


def find_contacts(ref: ContactRef):
    """The contacts matching either id of `ref` (none, one, or two that are not linked yet)."""
    query = Q()
    if ref.user_id:
        query |= Q(user_id=ref.user_id)
    if ref.wa_id:
        query |= Q(wa_id=ref.wa_id)
    if not query:
        return []
    return list(Contact.objects.filter(query).order_by("pk"))


def resolve_contact(ref: ContactRef, *, create=True):
    """The one contact `ref` describes, created if new (unless create=False, then maybe None).

    Ids in `ref` are the newest truth: a BSUID seen with a phone is linked to it, and two
    contacts that arrived separately (one by phone, one by BSUID) are merged into one. Names
    are refreshed when Meta sends them. Runs inside the caller's transaction.
    """
    if not (ref.user_id or ref.wa_id):
        raise ValueError("a contact needs a phone number or a business-scoped user id")
    ref = storable_ref(ref)
    for _attempt in range(3):
        found = find_contacts(ref)
        if not found:
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
        contact = found[0]
        for other in found[1:]:
            merge_contacts(contact, other)
        update_identity(contact, ref)
        return contact
    raise RuntimeError("could not resolve a contact after repeated concurrent changes")


IDENTITY_FIELDS = ("wa_id", "user_id", "parent_user_id", "username", "profile_name")


def storable_ref(ref: ContactRef) -> ContactRef:
    """`ref` with every id and name made safe to store (see messaging.storable)."""
    return ContactRef(**{name: storable(getattr(ref, name)) for name in ref.__slots__})


def identity_changes(contact, ref: ContactRef) -> dict:
    """What `ref` would change on `contact`: its non-empty values that differ."""
    return {
        name: value
        for name in IDENTITY_FIELDS
        if (value := getattr(ref, name) or getattr(contact, name)) != getattr(contact, name)
    }


def update_identity(contact, ref: ContactRef):
    changes = identity_changes(contact, ref)
    if changes:
        for name, value in changes.items():
            setattr(contact, name, value)
        contact.save(update_fields=[*changes, "updated_at"])


def change_contact_ids(contact, *, wa_id="", user_id=""):
    """Apply a number or BSUID change Meta reported for `contact`.

    If another contact already holds the new id, that record is this person too (WhatsApp
    reports the change from their own account), so it is merged in rather than duplicated.
    """
    for field, value in (("wa_id", wa_id), ("user_id", user_id)):
        if not value or getattr(contact, field) == value:
            continue
        holder = Contact.objects.filter(**{field: value}).exclude(pk=contact.pk).first()
        if holder:
            merge_contacts(contact, holder)
        setattr(contact, field, value)
        contact.save(update_fields=[field, "updated_at"])


@transaction.atomic
def merge_contacts(keep, other):
    """Fold `other` into `keep`: conversations, messages and raw-event links move; `other`
    is deleted. Where both have a conversation with the same business number, the two
    conversations become one."""
    for conversation in Conversation.objects.filter(contact=other):
        twin = Conversation.objects.filter(
            contact=keep, business_number_id=conversation.business_number_id
        ).first()
        if twin is None:
            conversation.contact = keep
            conversation.save(update_fields=["contact"])
            announce(conversation.pk)
        else:
            merge_conversations(twin, conversation)
    keep.webhook_events.add(*other.webhook_events.all())
    identity = ContactRef(
        wa_id=keep.wa_id or other.wa_id or "",
        user_id=keep.user_id or other.user_id or "",
        parent_user_id=keep.parent_user_id or other.parent_user_id,
        username=keep.username or other.username,
        profile_name=keep.profile_name or other.profile_name,
    )
    other.delete()
    update_identity(keep, identity)


def merge_conversations(keep, other):
    Message.objects.filter(conversation=other).update(conversation=keep)
    newer_last = other.last_message_at and (
        keep.last_message_at is None or other.last_message_at > keep.last_message_at
    )
    Conversation.objects.filter(pk=keep.pk).update(
        unread_count=F("unread_count") + other.unread_count,
        last_inbound_at=_latest(keep.last_inbound_at, other.last_inbound_at),
        last_message_at=_latest(keep.last_message_at, other.last_message_at),
        last_message_id=other.last_message_id if newer_last else keep.last_message_id,
        assignee_id=keep.assignee_id or other.assignee_id,
        state=(
            Conversation.State.OPEN
            if Conversation.State.OPEN in (keep.state, other.state)
            else keep.state
        ),
    )
    other.delete()
    keep.refresh_from_db()
    announce(keep.pk)


def _latest(*values):
    present = [value for value in values if value is not None]
    return max(present) if present else None
