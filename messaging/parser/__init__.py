"""Meta's webhook payloads → normalised events (see messaging/events.py).

`parse_webhook` is a pure function of the decoded JSON: no database, no I/O, no logging. It
reads every entry, change, message, status and error of a POST — peers that read only the first
of each lost messages — and isolates bad items: an item it cannot read becomes one
`WebhookError(malformed=True)` at that item's path and the rest are still parsed. It never
raises, whatever JSON it is given.

It is liberal where the meaning is clear (numbers sent as strings, "1764000000.0" as a
timestamp) and never drops a message it can place: one whose id, sender and timestamp are
readable is kept even when the rest of it is not, with Meta's type, the item as Meta sent it
in `data["raw"]` and why in `data["not_understood"]`.

Reasons given for malformed items name fields, never values, so they carry no personal data.

The package, by job: this module reads the envelope (entries, changes, values) and the items
of a value (messages, statuses, errors, identity and template updates); `content` reads each
message type's content; `values` reads JSON values defensively, and Meta's error objects.
"""

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from messaging.events import (
    AccountUpdate,
    BusinessRef,
    ContactChange,
    ContactRef,
    Event,
    IgnoredField,
    InboundMessage,
    StatusUpdate,
    TemplateUpdate,
    WebhookError,
)
from messaging.parser.content import Content, common_data, message_content
from messaging.parser.values import (
    Malformed,
    as_list,
    as_object,
    error_details,
    object_at,
    or_empty,
    readable_errors,
    string_at,
    unix_time,
)

WHATSAPP_OBJECT = "whatsapp_business_account"


# A business-scoped user id: ISO country code, a dot, alphanumerics (parent ids add ".ENT.").
# Username-only users arrive with a BSUID where a phone number would be (`from`, `wa_id`).
BSUID = re.compile(r"^[A-Z]{2}\.[A-Za-z0-9.]+$")


TEMPLATE_FIELDS = frozenset(
    {
        "message_template_status_update",
        "message_template_quality_update",
        "template_category_update",
        "message_template_components_update",
    }
)


# The standing of the account and its numbers (messaging.account_health acts on them).
ACCOUNT_FIELDS = frozenset(
    {"account_update", "account_review_update", "phone_number_quality_update"}
)


# Parts of a "messages" value we recognise and deliberately do not act on.
_IGNORED_VALUE_KEYS = frozenset({"groups", "message_echoes"})


# Reads one item of a "messages" value: (item, its path, the business, the value's contacts).
ItemReader = Callable[[Any, str, BusinessRef, list[ContactRef]], list[Event]]


_SYSTEM_CHANGE_KINDS = {
    "user_changed_number": "number_changed",
    "customer_identity_changed": "identity_changed",
    "user_changed_user_id": "user_id_changed",
}


def parse_webhook(payload: Any) -> list[Event]:
    """Every event in a decoded webhook body, in payload order. Never raises."""
    if (
        not isinstance(payload, dict)
        or payload.get("object") != WHATSAPP_OBJECT
        or not isinstance(payload.get("entry"), list)
    ):
        return [_malformed("", "not a WhatsApp Business Account webhook")]
    events = []
    for i, entry in enumerate(payload["entry"]):
        path = f"entry[{i}]"
        events += _guarded(path, _read_entry, entry, path)
    return events


def is_bsuid(value: str) -> bool:
    """Whether `value` is a business-scoped user id (e.g. "US.13491208655302741918"), not a
    phone number."""
    return bool(BSUID.match(value))


def _malformed(path: str, title: str) -> WebhookError:
    return WebhookError(path=path, title=title, malformed=True)


def _guarded(path: str, read: Callable[..., list[Event]], *args: Any) -> list[Event]:
    """Run one item reader; turn any failure into a malformed error for that item alone."""
    try:
        return read(*args)
    except Malformed as problem:
        return [_malformed(path, str(problem))]
    except Exception as exc:  # a parser bug must not cost the rest of the batch
        return [_malformed(path, f"item could not be read ({type(exc).__name__})")]


def _read_entry(entry: Any, path: str) -> list[Event]:
    entry = as_object(entry, "entry")
    waba_id = string_at(entry, "id")
    timestamp = _entry_time(entry)
    events = []
    for j, change in enumerate(as_list(entry.get("changes"), "changes")):
        change_path = f"{path}.changes[{j}]"
        events += _guarded(change_path, _read_change, change, change_path, waba_id, timestamp)
    return events


def _entry_time(entry: dict) -> datetime | None:
    """When Meta says the entry's changes happened; None when it does not say readably (the
    changes are read all the same: messages and statuses carry their own time)."""
    try:
        return unix_time(entry["time"], "entry") if entry.get("time") is not None else None
    except Malformed:
        return None


def _read_change(change: Any, path: str, waba_id: str, timestamp: datetime | None) -> list[Event]:
    change = as_object(change, "change")
    name = string_at(change, "field")
    if not name:
        raise Malformed("change has no field")
    value = change.get("value")
    if name == "messages":
        return _read_messages_value(value, f"{path}.value", waba_id)
    if name == "user_id_update":
        return _read_user_id_update_value(value, path, waba_id)
    if name in TEMPLATE_FIELDS:
        return [_read_template_update(value, path, waba_id, name, timestamp)]
    if name in ACCOUNT_FIELDS:
        return [_read_account_update(value, path, waba_id, name, timestamp)]
    # Calls, marketing preferences, SMB echoes and sync, groups, and anything Meta adds
    # later: recorded, not acted on.
    return [IgnoredField(field=name, path=path)]


def _read_messages_value(value: Any, path: str, waba_id: str) -> list[Event]:
    value = as_object(value, "value")
    business = _business_ref(value, waba_id)
    contacts = _contact_refs(value.get("contacts"))
    events = []
    for key, items in value.items():  # keys in payload order
        if key in _ITEM_READERS:
            events += _read_items(items, path, key, _ITEM_READERS[key], business, contacts)
        elif key in _IGNORED_VALUE_KEYS:
            events.append(IgnoredField(field=key, path=f"{path}.{key}"))
    return events


def _read_items(
    items: Any,
    value_path: str,
    key: str,
    read: ItemReader,
    business: BusinessRef,
    contacts: list[ContactRef],
) -> list[Event]:
    path = f"{value_path}.{key}"
    if not isinstance(items, list):
        return [_malformed(path, f"{key} is not a list")]
    events = []
    for k, item in enumerate(items):
        item_path = f"{path}[{k}]"
        events += _guarded(item_path, read, item, item_path, business, contacts)
    return events


def _business_ref(value: dict, waba_id: str, *, required: bool = True) -> BusinessRef:
    """The business number of a change value. Messages and statuses belong to one: without
    it the whole change is malformed (`required`)."""
    metadata = object_at(value, "metadata")
    phone_number_id = string_at(metadata, "phone_number_id")
    if required and not phone_number_id:
        raise Malformed("value has no metadata.phone_number_id")
    return BusinessRef(
        phone_number_id=phone_number_id,
        display_phone_number=string_at(metadata, "display_phone_number"),
        waba_id=waba_id,
    )


def _contact_refs(raw: Any) -> list[ContactRef]:
    """The readable entries of value.contacts[]; an unreadable one is skipped (messages carry
    their sender's ids themselves, so nothing is lost)."""
    refs = []
    for item in raw if isinstance(raw, list) else []:
        try:
            refs.append(_contact_ref(item))
        except Malformed:
            continue
    return refs


def _contact_ref(item: Any) -> ContactRef:
    item = as_object(item, "contact")
    profile = object_at(item, "profile")
    ref = _identity(
        string_at(item, "wa_id"), string_at(item, "user_id"), string_at(item, "parent_user_id")
    )
    return replace(
        ref,
        username=string_at(profile, "username") or string_at(item, "username"),
        profile_name=string_at(profile, "name"),
    )


def _identity(phone_or_bsuid: str, user_id: str = "", parent_user_id: str = "") -> ContactRef:
    """A ContactRef from a `from`/`wa_id`/`recipient_id` that may hold a BSUID, not a phone."""
    if is_bsuid(phone_or_bsuid):
        return ContactRef(user_id=user_id or phone_or_bsuid, parent_user_id=parent_user_id)
    return ContactRef(wa_id=phone_or_bsuid, user_id=user_id, parent_user_id=parent_user_id)


def _resolve(own: ContactRef, contacts: list[ContactRef]) -> ContactRef:
    """Pair an item's own ids with its value.contacts[] entry (which has the name, username and
    Meta's phone/BSUID pairing). A lone contact is used unless its ids contradict the item's."""
    match = next((c for c in contacts if _same_person(own, c)), None)
    if match is None and len(contacts) == 1 and not _contradicts(own, contacts[0]):
        match = contacts[0]
    if match is None:
        return own
    return replace(
        match,
        wa_id=match.wa_id or own.wa_id,
        user_id=match.user_id or own.user_id,
        parent_user_id=match.parent_user_id or own.parent_user_id,
    )


def _same_person(a: ContactRef, b: ContactRef) -> bool:
    return bool((a.wa_id and a.wa_id == b.wa_id) or (a.user_id and a.user_id == b.user_id))


def _contradicts(a: ContactRef, b: ContactRef) -> bool:
    pairs = ((a.wa_id, b.wa_id), (a.user_id, b.user_id))
    return any(x and y and x != y for x, y in pairs)


def _read_message(
    message: Any, path: str, business: BusinessRef, contacts: list[ContactRef]
) -> list[Event]:
    """A message, when its id, sender and timestamp can be read (else it is malformed). The
    rest is read as its type says; when that fails, the message is still kept (see the
    module docstring)."""
    message = as_object(message, "message")
    wamid = string_at(message, "id")
    if not wamid:
        raise Malformed("message has no id")
    timestamp = unix_time(message.get("timestamp"), "message")
    own = _identity(
        string_at(message, "from"),
        string_at(message, "from_user_id"),
        string_at(message, "from_parent_user_id"),
    )
    try:
        kind = string_at(message, "type")
        if not kind:
            raise Malformed("message has no type")
        if kind == "system":
            own = _before_system_change(own, object_at(message, "system"))
        content = message_content(message, kind)
        context = object_at(message, "context")
        data = {**content.data, **common_data(message, context)}
        reply_to = string_at(context, "id")
    except Malformed as problem:
        given_type = message.get("type")
        kind = given_type if isinstance(given_type, str) and given_type else "unknown"
        content = Content()
        data = {"raw": message, "not_understood": str(problem)}
        reply_to = ""
    contact = _resolve(own, contacts)
    if not (contact.wa_id or contact.user_id):
        raise Malformed("message has no sender")

    inbound = InboundMessage(
        business=business,
        contact=contact,
        wamid=wamid,
        type=kind,
        timestamp=timestamp,
        text=content.text,
        data=data,
        reply_to_wamid=reply_to,
        target_wamid=content.target_wamid,
        path=path,
    )
    if kind == "system" and "not_understood" not in data:
        return [inbound, *_system_contact_change(inbound)]
    return [inbound]


def _read_status(
    status: Any, path: str, business: BusinessRef, contacts: list[ContactRef]
) -> list[Event]:
    status = as_object(status, "status")
    if string_at(status, "recipient_type") == "group":
        return [IgnoredField(field="groups", path=path)]  # we never send to groups
    wamid = string_at(status, "id")
    if not wamid:
        raise Malformed("status has no id")
    state = string_at(status, "status").lower()
    if not state:
        raise Malformed("status has no status")
    own = _identity(
        string_at(status, "recipient_id"),
        string_at(status, "recipient_user_id"),
        string_at(status, "recipient_parent_user_id"),
    )
    # Which message, what happened and when is the status; the rest is detail that an odd
    # shape must not cost it (the raw body keeps it as Meta sent it).
    return [
        StatusUpdate(
            business=business,
            wamid=wamid,
            status=state,
            timestamp=unix_time(status.get("timestamp"), "status"),
            recipient=_resolve(own, contacts),
            conversation=or_empty(object_at, status, "conversation"),
            pricing=or_empty(object_at, status, "pricing"),
            errors=readable_errors(status.get("errors")),
            callback_data=or_empty(string_at, status, "biz_opaque_callback_data"),
            path=path,
        )
    ]


def _read_value_error(
    error: Any, path: str, business: BusinessRef, contacts: list[ContactRef]
) -> list[Event]:
    details = error_details(error)
    return [WebhookError(path=path, **details)]


def _read_user_id_update(
    item: Any, path: str, business: BusinessRef, contacts: list[ContactRef]
) -> list[Event]:
    """One BSUID change. Meta's shape for this is young, so several spellings are accepted:
    {"wa_id", "user_id": {"previous", "current"}, "timestamp"} or flat previous/new ids."""
    item = as_object(item, "user_id_update")
    ids = item.get("user_id")
    if isinstance(ids, dict):
        old = string_at(ids, "previous") or string_at(ids, "old")
        new = string_at(ids, "current") or string_at(ids, "new")
    else:
        old = string_at(item, "previous_user_id") or string_at(item, "old_user_id")
        new = string_at(item, "new_user_id") or string_at(item, "user_id")
    wa_id = string_at(item, "wa_id")
    if not new or not (old or wa_id):
        raise Malformed("user_id_update has no previous and new user ids")
    timestamp = None
    if item.get("timestamp") is not None:
        timestamp = unix_time(item["timestamp"], "user_id_update")
    return [
        ContactChange(
            business=business,
            kind="user_id_changed",
            contact=_identity(wa_id, old),
            timestamp=timestamp,
            new_user_id=new,
            path=path,
        )
    ]


# value key -> reader(item, path, business, contacts)
_ITEM_READERS = {
    "messages": _read_message,
    "statuses": _read_status,
    "errors": _read_value_error,
    # Meta documents BSUID changes as system messages; accept this list here too.
    "user_id_update": _read_user_id_update,
}


def _read_user_id_update_value(value: Any, path: str, waba_id: str) -> list[Event]:
    value = as_object(value, "value")
    # A BSUID change is about a user, not a number: it needs no metadata.
    business = _business_ref(value, waba_id, required=False)
    if "user_id_update" in value:
        items = value["user_id_update"]
        return _read_items(
            items, f"{path}.value", "user_id_update", _read_user_id_update, business, []
        )
    return _read_user_id_update(value, path, business, [])


def _read_template_update(
    value: Any, path: str, waba_id: str, name: str, timestamp: datetime | None
) -> TemplateUpdate:
    value = as_object(value, "value")
    return TemplateUpdate(
        waba_id=waba_id,
        field=name,
        template_id=string_at(value, "message_template_id"),
        name=string_at(value, "message_template_name"),
        language=string_at(value, "message_template_language"),
        event=(
            string_at(value, "event")
            or string_at(value, "new_quality_score")
            or string_at(value, "new_category")
        ),
        reason=string_at(value, "reason"),
        timestamp=timestamp,
        data=value,
        path=path,
    )


def _read_account_update(
    value: Any, path: str, waba_id: str, name: str, timestamp: datetime | None
) -> AccountUpdate:
    """An account, review or number quality change. Without an event (or a review's
    decision) nothing says what happened: malformed, so that the body stays replayable."""
    value = as_object(value, "value")
    event = string_at(value, "event") or string_at(value, "decision")
    if not event:
        raise Malformed(f"{name} has no event")
    # Partner events are about the customer's account, which entry.id may not be.
    waba_info = or_empty(object_at, value, "waba_info")
    return AccountUpdate(
        waba_id=or_empty(string_at, waba_info, "waba_id") or waba_id,
        field=name,
        event=event,
        display_phone_number=(
            string_at(value, "display_phone_number") or string_at(value, "phone_number")
        ),
        timestamp=timestamp,
        data=value,
        path=path,
    )


def _before_system_change(own: ContactRef, system: dict) -> ContactRef:
    """The user as they were: a number or BSUID change reports the old BSUID as previous_*."""
    return replace(
        own,
        user_id=string_at(system, "previous_user_id") or own.user_id,
        parent_user_id=string_at(system, "previous_parent_user_id") or own.parent_user_id,
    )


def _system_contact_change(message: InboundMessage) -> list[ContactChange]:
    data = message.data
    new_user_id = data.get("new_user_id", "")
    kind = _SYSTEM_CHANGE_KINDS.get(data["system_type"])
    if kind is None and new_user_id:
        kind = "user_id_changed"
    if kind is None:
        return []
    change = ContactChange(
        business=message.business,
        kind=kind,
        contact=message.contact,
        timestamp=message.timestamp,
        new_wa_id=data["new_wa_id"],
        new_user_id=new_user_id,
        path=message.path,
    )
    return [change]
