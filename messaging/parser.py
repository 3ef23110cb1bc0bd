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
"""

import json
import math
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from messaging.events import (
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

_MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})

# Parts of a "messages" value we recognise and deliberately do not act on.
_IGNORED_VALUE_KEYS = frozenset({"groups", "message_echoes"})

_SYSTEM_CHANGE_KINDS = {
    "user_changed_number": "number_changed",
    "customer_identity_changed": "identity_changed",
    "user_changed_user_id": "user_id_changed",
}


class _Malformed(Exception):
    """An item cannot be read; its message is the WebhookError title (field names only)."""


@dataclass
class _Content:
    """What a message type contributes to an InboundMessage."""

    text: str = ""
    data: dict = field(default_factory=dict)
    target_wamid: str = ""


def parse_webhook(payload) -> list[Event]:
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


def _guarded(path, read, *args) -> list[Event]:
    """Run one item reader; turn any failure into a malformed error for that item alone."""
    try:
        return read(*args)
    except _Malformed as problem:
        return [_malformed(path, str(problem))]
    except Exception as exc:  # a parser bug must not cost the rest of the batch
        return [_malformed(path, f"item could not be read ({type(exc).__name__})")]


# Structure: entries, changes, values.


def _read_entry(entry, path) -> list[Event]:
    entry = _as_object(entry, "entry")
    waba_id = _string(entry, "id")
    events = []
    for j, change in enumerate(_as_list(entry.get("changes"), "changes")):
        change_path = f"{path}.changes[{j}]"
        events += _guarded(change_path, _read_change, change, change_path, waba_id)
    return events


def _read_change(change, path, waba_id) -> list[Event]:
    change = _as_object(change, "change")
    name = _string(change, "field")
    if not name:
        raise _Malformed("change has no field")
    value = change.get("value")
    if name == "messages":
        return _read_messages_value(value, f"{path}.value", waba_id)
    if name == "user_id_update":
        return _read_user_id_update_value(value, path, waba_id)
    if name in TEMPLATE_FIELDS:
        return [_read_template_update(value, path, waba_id, name)]
    # Calls, account updates, marketing preferences, SMB echoes and sync, groups, and
    # anything Meta adds later: recorded, not acted on.
    return [IgnoredField(field=name, path=path)]


def _read_messages_value(value, path, waba_id) -> list[Event]:
    value = _as_object(value, "value")
    business = _business_ref(value, waba_id)
    contacts = _contact_refs(value.get("contacts"))
    events = []
    for key, items in value.items():  # keys in payload order
        if key in _ITEM_READERS:
            events += _read_items(items, path, key, _ITEM_READERS[key], business, contacts)
        elif key in _IGNORED_VALUE_KEYS:
            events.append(IgnoredField(field=key, path=f"{path}.{key}"))
    return events


def _read_items(items, value_path, key, read, business, contacts) -> list[Event]:
    path = f"{value_path}.{key}"
    if not isinstance(items, list):
        return [_malformed(path, f"{key} is not a list")]
    events = []
    for k, item in enumerate(items):
        item_path = f"{path}[{k}]"
        events += _guarded(item_path, read, item, item_path, business, contacts)
    return events


def _business_ref(value: dict, waba_id: str, *, required=True) -> BusinessRef:
    """The business number of a change value. Messages and statuses belong to one: without
    it the whole change is malformed (`required`)."""
    metadata = _object_at(value, "metadata")
    phone_number_id = _string(metadata, "phone_number_id")
    if required and not phone_number_id:
        raise _Malformed("value has no metadata.phone_number_id")
    return BusinessRef(
        phone_number_id=phone_number_id,
        display_phone_number=_string(metadata, "display_phone_number"),
        waba_id=waba_id,
    )


# Contacts: who sent a message or received a status.


def _contact_refs(raw) -> list[ContactRef]:
    """The readable entries of value.contacts[]; an unreadable one is skipped (messages carry
    their sender's ids themselves, so nothing is lost)."""
    refs = []
    for item in raw if isinstance(raw, list) else []:
        try:
            refs.append(_contact_ref(item))
        except _Malformed:
            continue
    return refs


def _contact_ref(item) -> ContactRef:
    item = _as_object(item, "contact")
    profile = _object_at(item, "profile")
    ref = _identity(
        _string(item, "wa_id"), _string(item, "user_id"), _string(item, "parent_user_id")
    )
    return replace(
        ref,
        username=_string(profile, "username") or _string(item, "username"),
        profile_name=_string(profile, "name"),
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


# Items of a "messages" value.


def _read_message(message, path, business, contacts) -> list[Event]:
    """A message, when its id, sender and timestamp can be read (else it is malformed). The
    rest is read as its type says; when that fails, the message is still kept (see the
    module docstring)."""
    message = _as_object(message, "message")
    wamid = _string(message, "id")
    if not wamid:
        raise _Malformed("message has no id")
    timestamp = _unix_time(message.get("timestamp"), "message")
    own = _identity(
        _string(message, "from"),
        _string(message, "from_user_id"),
        _string(message, "from_parent_user_id"),
    )
    try:
        kind = _string(message, "type")
        if not kind:
            raise _Malformed("message has no type")
        if kind == "system":
            own = _before_system_change(own, _object_at(message, "system"))
        content = _message_content(message, kind)
        context = _object_at(message, "context")
        data = {**content.data, **_common_data(message, context)}
        reply_to = _string(context, "id")
    except _Malformed as problem:
        given_type = message.get("type")
        kind = given_type if isinstance(given_type, str) and given_type else "unknown"
        content = _Content()
        data = {"raw": message, "not_understood": str(problem)}
        reply_to = ""
    contact = _resolve(own, contacts)
    if not (contact.wa_id or contact.user_id):
        raise _Malformed("message has no sender")

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


def _common_data(message: dict, context: dict) -> dict:
    """Data every message type may carry: forwarding flags, the product asked about, the ad
    it came from, and the errors Meta attached (e.g. to an unsupported message)."""
    data = {}
    for flag in ("forwarded", "frequently_forwarded"):
        if context.get(flag) is True:
            data[flag] = True
    if "referred_product" in context:
        data["referred_product"] = context["referred_product"]
    if "referral" in message:
        data["referral"] = message["referral"]
    if "errors" in message:
        data["errors"] = _errors(message.get("errors"))
    return data


def _read_status(status, path, business, contacts) -> list[Event]:
    status = _as_object(status, "status")
    if _string(status, "recipient_type") == "group":
        return [IgnoredField(field="groups", path=path)]  # we never send to groups
    wamid = _string(status, "id")
    if not wamid:
        raise _Malformed("status has no id")
    state = _string(status, "status").lower()
    if not state:
        raise _Malformed("status has no status")
    own = _identity(
        _string(status, "recipient_id"),
        _string(status, "recipient_user_id"),
        _string(status, "recipient_parent_user_id"),
    )
    # Which message, what happened and when is the status; the rest is detail that an odd
    # shape must not cost it (the raw body keeps it as Meta sent it).
    return [
        StatusUpdate(
            business=business,
            wamid=wamid,
            status=state,
            timestamp=_unix_time(status.get("timestamp"), "status"),
            recipient=_resolve(own, contacts),
            conversation=_or_empty(_object_at, status, "conversation"),
            pricing=_or_empty(_object_at, status, "pricing"),
            errors=_readable_errors(status.get("errors")),
            callback_data=_or_empty(_string, status, "biz_opaque_callback_data"),
            path=path,
        )
    ]


def _read_value_error(error, path, business, contacts) -> list[Event]:
    details = _error_details(error)
    return [WebhookError(path=path, **details)]


def _read_user_id_update(item, path, business, contacts) -> list[Event]:
    """One BSUID change. Meta's shape for this is young, so several spellings are accepted:
    {"wa_id", "user_id": {"previous", "current"}, "timestamp"} or flat previous/new ids."""
    item = _as_object(item, "user_id_update")
    ids = item.get("user_id")
    if isinstance(ids, dict):
        old = _string(ids, "previous") or _string(ids, "old")
        new = _string(ids, "current") or _string(ids, "new")
    else:
        old = _string(item, "previous_user_id") or _string(item, "old_user_id")
        new = _string(item, "new_user_id") or _string(item, "user_id")
    wa_id = _string(item, "wa_id")
    if not new or not (old or wa_id):
        raise _Malformed("user_id_update has no previous and new user ids")
    timestamp = None
    if item.get("timestamp") is not None:
        timestamp = _unix_time(item["timestamp"], "user_id_update")
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


# Other fields.


def _read_user_id_update_value(value, path, waba_id) -> list[Event]:
    value = _as_object(value, "value")
    # A BSUID change is about a user, not a number: it needs no metadata.
    business = _business_ref(value, waba_id, required=False)
    if "user_id_update" in value:
        items = value["user_id_update"]
        return _read_items(
            items, f"{path}.value", "user_id_update", _read_user_id_update, business, []
        )
    return _read_user_id_update(value, path, business, [])


def _read_template_update(value, path, waba_id, name) -> TemplateUpdate:
    value = _as_object(value, "value")
    return TemplateUpdate(
        waba_id=waba_id,
        field=name,
        template_id=_string(value, "message_template_id"),
        name=_string(value, "message_template_name"),
        language=_string(value, "message_template_language"),
        event=(
            _string(value, "event")
            or _string(value, "new_quality_score")
            or _string(value, "new_category")
        ),
        reason=_string(value, "reason"),
        data=value,
        path=path,
    )


# Message types: each reader turns a message into the text a person reads and its data.


def _message_content(message: dict, kind: str) -> _Content:
    if kind in _MEDIA_TYPES:
        return _media_content(message, kind)
    read = _CONTENT_READERS.get(kind, _unknown_content)
    return read(message, kind)


def _text_content(message, kind) -> _Content:
    return _Content(text=_string(_object_at(message, "text"), "body"))


def _media_content(message, kind) -> _Content:
    media = _object_at(message, kind)
    data = {
        "media_id": _string(media, "id"),
        "mime_type": _string(media, "mime_type"),
        "sha256": _string(media, "sha256"),
    }
    for key in ("filename", "caption", "url"):
        if key in media:
            data[key] = _string(media, key)
    for key in ("voice", "animated"):
        if key in media:
            data[key] = media[key] is True
    return _Content(text=data.get("caption", ""), data=data)


def _location_content(message, kind) -> _Content:
    location = _object_at(message, "location")
    return _Content(
        data={
            "latitude": _number(location, "latitude"),
            "longitude": _number(location, "longitude"),
            "name": _string(location, "name"),
            "address": _string(location, "address"),
            "url": _string(location, "url"),
        }
    )


def _contacts_content(message, kind) -> _Content:
    return _Content(data={"contacts": _as_list(message.get("contacts"), "contacts")})


def _interactive_content(message, kind) -> _Content:
    interactive = _object_at(message, "interactive")
    sub_type = _string(interactive, "type")
    reply = _object_at(interactive, sub_type, "interactive reply") if sub_type else {}
    data = {"interactive_type": sub_type}
    if sub_type in ("button_reply", "list_reply"):
        title = _string(reply, "title")
        data |= {
            "reply_id": _string(reply, "id"),
            "title": title,
            "description": _string(reply, "description"),
        }
        return _Content(text=title, data=data)
    if sub_type == "nfm_reply":  # a completed Flow
        body = _string(reply, "body")
        data |= {
            "name": _string(reply, "name"),
            "body": body,
            "response_json": _flow_response(reply.get("response_json")),
        }
        return _Content(text=body, data=data)
    # Other replies (call permission, ...) are kept whole.
    data["payload"] = reply
    return _Content(data=data)


def _flow_response(raw):
    """A Flow's answers: Meta sends a JSON string; keep it as a dict when it is one."""
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except ValueError:
            return raw
        return parsed if isinstance(parsed, dict) else raw
    return raw


def _button_content(message, kind) -> _Content:
    button = _object_at(message, "button")
    text = _string(button, "text")
    return _Content(text=text, data={"payload": _string(button, "payload"), "text": text})


def _reaction_content(message, kind) -> _Content:
    reaction = _object_at(message, "reaction")
    target = _string(reaction, "message_id")
    if not target:
        raise _Malformed("reaction has no message_id")
    # An un-reaction comes with emoji "" or no emoji at all: both mean "removed".
    return _Content(data={"emoji": _string(reaction, "emoji")}, target_wamid=target)


def _order_content(message, kind) -> _Content:
    order = _object_at(message, "order")
    text = _string(order, "text")
    data = {
        "catalog_id": _string(order, "catalog_id"),
        "product_items": _as_list(order.get("product_items"), "product_items"),
        "text": text,
    }
    return _Content(text=text, data=data)


def _system_content(message, kind) -> _Content:
    system = _object_at(message, "system")
    body = _string(system, "body")
    data = {
        "system_type": _string(system, "type"),
        "body": body,
        "new_wa_id": _string(system, "wa_id") or _string(system, "new_wa_id"),
    }
    new_user_id = _string(system, "user_id") or _string(system, "new_user_id")
    if new_user_id:
        data["new_user_id"] = new_user_id
    if _string(system, "previous_user_id"):
        data["previous_user_id"] = _string(system, "previous_user_id")
    if "identity" in message:
        data["identity"] = _object_at(message, "identity")
    return _Content(text=body, data=data)


def _unsupported_content(message, kind) -> _Content:
    data = {}
    if "unsupported" in message:  # e.g. {"type": "poll"}
        data["unsupported"] = _object_at(message, "unsupported")
    return _Content(data=data)


def _edit_content(message, kind) -> _Content:
    edit = _object_at(message, "edit")
    target = _string(edit, "original_message_id")
    if not target:
        raise _Malformed("edit has no original_message_id")
    inner = _object_at(edit, "message")
    inner_type = _string(inner, "type")
    new = _message_content(inner, inner_type)
    data = {"message": {"type": inner_type, "text": new.text, "data": new.data}}
    return _Content(text=new.text, data=data, target_wamid=target)


def _revoke_content(message, kind) -> _Content:
    target = _string(_object_at(message, "revoke"), "original_message_id")
    if not target:
        raise _Malformed("revoke has no original_message_id")
    return _Content(target_wamid=target)


def _request_welcome_content(message, kind) -> _Content:
    return _Content()


def _unknown_content(message, kind) -> _Content:
    """A type we do not know yet: kept, with its type-specific object, to show as such."""
    return _Content(data={"payload": message.get(kind)})


_CONTENT_READERS = {
    "text": _text_content,
    "location": _location_content,
    "contacts": _contacts_content,
    "interactive": _interactive_content,
    "button": _button_content,
    "reaction": _reaction_content,
    "order": _order_content,
    "system": _system_content,
    "unsupported": _unsupported_content,
    "edit": _edit_content,
    "revoke": _revoke_content,
    "request_welcome": _request_welcome_content,
}


def _before_system_change(own: ContactRef, system: dict) -> ContactRef:
    """The user as they were: a number or BSUID change reports the old BSUID as previous_*."""
    return replace(
        own,
        user_id=_string(system, "previous_user_id") or own.user_id,
        parent_user_id=_string(system, "previous_parent_user_id") or own.parent_user_id,
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


# Errors, as Meta reports them on messages, statuses and values.


def _errors(raw) -> list[dict]:
    return [_error_details(item) for item in _as_list(raw, "errors")]


def _readable_errors(raw) -> list[dict]:
    """The errors of a status that can be read; a list that is not one counts as none."""
    errors = []
    for item in raw if isinstance(raw, list) else []:
        try:
            errors.append(_error_details(item))
        except _Malformed:
            continue
    return errors


def _error_details(error) -> dict:
    error = _as_object(error, "error")
    return {
        "code": _error_code(error.get("code")),
        "title": _string(error, "title"),
        "message": _string(error, "message"),
        "details": _string(_object_at(error, "error_data"), "details"),
    }


def _error_code(raw) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw)
    return None


# Reading JSON values defensively: absent means empty; present with the wrong type is Malformed.


def _as_object(raw, what: str) -> dict:
    if not isinstance(raw, dict):
        raise _Malformed(f"{what} is not an object")
    return raw


def _as_list(raw, what: str) -> list:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _Malformed(f"{what} is not a list")
    return raw


def _object_at(mapping: dict, key: str, what: str = "") -> dict:
    raw = mapping.get(key)
    return {} if raw is None else _as_object(raw, what or key)


def _string(mapping: dict, key: str) -> str:
    """A string field; numbers are accepted (Meta sends some ids as numbers)."""
    raw = mapping.get(key)
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return str(raw)
    raise _Malformed(f"{key} is not a string")


def _or_empty(read, mapping: dict, key: str):
    """`read(mapping, key)`, or the empty value of its kind when the field cannot be read."""
    try:
        return read(mapping, key)
    except _Malformed:
        return {} if read is _object_at else ""


def _number(mapping: dict, key: str) -> float | int | None:
    """A number field; a numeric string ("24.7") is read as the number it spells."""
    raw = mapping.get(key)
    if raw is None or (isinstance(raw, int | float) and not isinstance(raw, bool)):
        return raw
    if isinstance(raw, str):
        try:
            value = float(raw)
        except ValueError:
            pass
        else:
            if math.isfinite(value):
                return value
    raise _Malformed(f"{key} is not a number")


def _unix_time(raw, what: str) -> datetime:
    """Meta's timestamps: unix seconds, as a string (usually) or a number, whole or not
    ("1764000000", 1764000000, "1764000000.0"); fractions of a second are dropped."""
    if isinstance(raw, int | float | str) and not isinstance(raw, bool):
        try:
            seconds = int(raw) if isinstance(raw, int) else int(float(raw))
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (ValueError, OverflowError, OSError):
            pass
    raise _Malformed(f"{what} timestamp is missing or unreadable")
