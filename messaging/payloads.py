"""Builders of webhook bodies shaped like the ones Meta's WhatsApp Cloud API posts.

Used by the `simulate_inbound` command, demo-data seeding and tests. Builders return plain
dicts (the decoded JSON), compose from the inside out, and leave out what Meta leaves out:

    body = envelope(
        value(
            contacts=[contact(wa_id="16505551234", name="Amina")],
            messages=[text_message("مرحبا", sender="16505551234")],
        )
    )
    raw = encode(body)
    headers = {"X-Hub-Signature-256": sign(raw, app_secret)}

A user known only by a username has a business-scoped user id (BSUID) and no phone number:
`contact(user_id="US.13491208655302741918", username="amina")` with
`text_message(..., sender="US.13491208655302741918")`, or `sender=None,
sender_user_id="US.13491208655302741918"`.

`encode()` serialises exactly as Meta does (compact, non-ASCII as \\uXXXX, "/" as "\\/"), so
a signature over its bytes is the one a real delivery would carry.
"""

import base64
import hashlib
import json
import secrets
import time
from datetime import datetime
from typing import Any

from messaging.signature import sign  # noqa: F401 - part of this module's API

# Defaults from Meta's own documentation examples (555 numbers are fictional).
WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_PHONE_NUMBER = "15550783881"
USER_WA_ID = "16505551234"

MEDIA_MIME_TYPES = {
    "image": "image/jpeg",
    "video": "video/mp4",
    "audio": "audio/ogg; codecs=opus",
    "document": "application/pdf",
    "sticker": "image/webp",
}


def new_wamid() -> str:
    """A fresh message id in Meta's shape: "wamid." and standard base64 (with "+", "/", "=")."""
    return "wamid." + base64.b64encode(secrets.token_bytes(35)).decode("ascii")


def new_media_id() -> str:
    """A fresh media id: Meta's are 15-16 digit numbers, as strings."""
    return str(10**15 + secrets.randbelow(9 * 10**15))


# The envelope: {"object", "entry": [{"id", "changes": [{"field", "value"}]}]}.


def envelope(*parts: dict, waba_id: str = WABA_ID) -> dict:
    """A whole webhook body. Each part is an entry (from `entry()`), a change (from
    `change()`), or a bare "messages" value (from `value()`); loose changes and values are
    gathered, in order, into one entry for `waba_id`."""
    entries, loose = [], []
    for part in parts:
        if "changes" in part:
            entries.append(part)
        elif "field" in part and "value" in part:
            loose.append(part)
        else:
            loose.append(change(part))
    if loose:
        entries.append(entry(*loose, waba_id=waba_id))
    return {"object": "whatsapp_business_account", "entry": entries}


def entry(*changes: dict, waba_id: str = WABA_ID) -> dict:
    return {"id": waba_id, "changes": list(changes)}


def change(value: dict, field: str = "messages") -> dict:
    return {"value": value, "field": field}


def value(
    *,
    phone_number_id: str = PHONE_NUMBER_ID,
    display_phone_number: str = DISPLAY_PHONE_NUMBER,
    contacts: list | None = None,
    messages: list | None = None,
    statuses: list | None = None,
    errors: list | None = None,
) -> dict:
    """The value of a "messages" change; lists left as None are omitted, as Meta does."""
    result: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": display_phone_number,
            "phone_number_id": phone_number_id,
        },
    }
    lists = {"contacts": contacts, "messages": messages, "statuses": statuses, "errors": errors}
    result |= {key: items for key, items in lists.items() if items is not None}
    return result


def contact(
    wa_id: str | None = None,
    user_id: str | None = None,
    name: str | None = None,
    username: str | None = None,
    parent_user_id: str | None = None,
) -> dict:
    """An entry of value.contacts[]: the sender's phone (wa_id) and/or BSUID (user_id)."""
    if not (wa_id or user_id):
        raise ValueError("a contact needs a wa_id, a user_id, or both")
    profile = {"name": name, "username": username}
    ids = {"wa_id": wa_id, "user_id": user_id, "parent_user_id": parent_user_id}
    result: dict[str, Any] = {}
    if any(profile.values()):
        result["profile"] = {key: text for key, text in profile.items() if text}
    return result | {key: id_ for key, id_ in ids.items() if id_}


# Messages (value.messages[]). Every builder takes message()'s keyword arguments.


def message(
    kind: str,
    content: Any = None,
    *,
    wamid: str | None = None,
    sender: str | None = USER_WA_ID,
    sender_user_id: str | None = None,
    timestamp: int | str | datetime | None = None,
    reply_to: str | None = None,
    forwarded: bool = False,
) -> dict:
    """An inbound message of any type: `content` goes under the key named by `kind`.

    `sender` is the `from` (a phone number, or a BSUID for a username-only user; None leaves
    it out); `sender_user_id` the `from_user_id`. `timestamp` defaults to now. `reply_to` is
    the wamid replied to; `forwarded` marks it forwarded.
    """
    item: dict[str, Any] = {}
    context: dict[str, Any] = {}
    if reply_to:
        context |= {"from": DISPLAY_PHONE_NUMBER, "id": reply_to}
    if forwarded:
        context["forwarded"] = True
    if context:
        item["context"] = context
    if sender is not None:
        item["from"] = sender
    if sender_user_id is not None:
        item["from_user_id"] = sender_user_id
    item |= {"id": wamid or new_wamid(), "timestamp": unix_time(timestamp), "type": kind}
    if content is not None:
        item[kind] = content
    return item


def text_message(body: str, **options: Any) -> dict:
    return message("text", {"body": body}, **options)


def media_message(
    kind: str,
    media_id: str | None = None,
    *,
    mime_type: str | None = None,
    sha256: str | None = None,
    caption: str | None = None,
    filename: str | None = None,
    url: str | None = None,
    voice: bool | None = None,
    animated: bool | None = None,
    **options: Any,
) -> dict:
    """An image, video, audio, document or sticker message. `voice` is for audio (a voice
    note), `animated` for stickers, `filename` for documents; None leaves a key out."""
    if kind not in MEDIA_MIME_TYPES:
        raise ValueError(f"not a media type: {kind}")
    media_id = media_id or new_media_id()
    # Meta's sha256 is the base64 SHA-256 of the file; here, of the id, to stay stable.
    digest = base64.b64encode(hashlib.sha256(media_id.encode()).digest()).decode("ascii")
    media = {
        "caption": caption,
        "filename": filename,
        "mime_type": mime_type or MEDIA_MIME_TYPES[kind],
        "sha256": sha256 or digest,
        "id": media_id,
        "url": url,
        "voice": voice,
        "animated": animated,
    }
    return message(kind, {key: v for key, v in media.items() if v is not None}, **options)


def location_message(
    latitude: float,
    longitude: float,
    *,
    name: str | None = None,
    address: str | None = None,
    url: str | None = None,
    **options: Any,
) -> dict:
    location: dict[str, float | str] = {"latitude": latitude, "longitude": longitude}
    details = {"name": name, "address": address, "url": url}
    location |= {key: text for key, text in details.items() if text is not None}
    return message("location", location, **options)


def reaction_message(target: str, emoji: str | None, **options: Any) -> dict:
    """A reaction to message `target`. An un-reaction: emoji "" (or None: no emoji key)."""
    reaction = {"message_id": target}
    if emoji is not None:
        reaction["emoji"] = emoji
    return message("reaction", reaction, **options)


def interactive_reply(
    reply_id: str,
    title: str,
    *,
    description: str | None = None,
    kind: str = "button_reply",
    **options: Any,
) -> dict:
    """A tap on a reply button (kind "button_reply") or a list row ("list_reply")."""
    reply = {"id": reply_id, "title": title}
    if description is not None:
        reply["description"] = description
    return message("interactive", {"type": kind, kind: reply}, **options)


def system_number_change(
    old_wa_id: str,
    new_wa_id: str,
    *,
    name: str = "",
    new_user_id: str | None = None,
    previous_user_id: str | None = None,
    **options: Any,
) -> dict:
    """Meta's notice that a user changed their phone number (it comes from the old number;
    system messages have no contacts[] entry). A number change also regenerates the BSUID:
    pass the new one and the previous one to include them."""
    system = {
        "body": f"User {name or old_wa_id} changed from {old_wa_id} to {new_wa_id}",
        "wa_id": new_wa_id,
        "type": "user_changed_number",
    }
    if new_user_id:
        system["user_id"] = new_user_id
    if previous_user_id:
        system["previous_user_id"] = previous_user_id
    return message("system", system, **{"sender": old_wa_id, **options})


# Statuses (value.statuses[]) and errors.


def status(
    wamid: str,
    status: str,
    *,
    timestamp: int | str | datetime | None = None,
    recipient: str | None = USER_WA_ID,
    recipient_user_id: str | None = None,
    errors: list | None = None,
    conversation: dict | None = None,
    pricing: dict | None = None,
) -> dict:
    """A delivery status ("sent", "delivered", "read", "played", "failed") of message
    `wamid` that the business sent to `recipient` (a phone number or a BSUID)."""
    item: dict[str, Any] = {"id": wamid, "status": status, "timestamp": unix_time(timestamp)}
    if recipient is not None:
        item["recipient_id"] = recipient
    if recipient_user_id is not None:
        item["recipient_user_id"] = recipient_user_id
    extras = {"conversation": conversation, "pricing": pricing, "errors": errors}
    return item | {key: v for key, v in extras.items() if v is not None}


def error(code: int, title: str, *, message: str | None = None, details: str | None = None) -> dict:
    """An error object, as in statuses[].errors[], messages[].errors[] and value.errors[]."""
    return {
        "code": code,
        "title": title,
        "message": message or title,
        "error_data": {"details": details or title},
    }


def unix_time(timestamp: int | str | datetime | None = None) -> str:
    """Meta's timestamp format: unix seconds as a string. None means now."""
    if timestamp is None:
        return str(int(time.time()))
    if isinstance(timestamp, datetime):
        return str(int(timestamp.timestamp()))
    return str(int(timestamp))


# The wire: bytes and signature.


def encode(payload: Any) -> bytes:
    """The body bytes as Meta sends them: compact JSON, non-ASCII escaped as \\uXXXX and "/"
    as "\\/". ("/" only ever occurs inside JSON strings, so escaping every one is safe.)"""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode("ascii")
