"""Message types: each reader turns a message into the text a person reads and its data."""

import json
from dataclasses import dataclass, field
from typing import Any

from messaging.parser.values import (
    Malformed,
    as_list,
    number_at,
    object_at,
    read_errors,
    string_at,
)

_MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})


@dataclass
class Content:
    """What a message type contributes to an InboundMessage."""

    text: str = ""
    data: dict = field(default_factory=dict)
    target_wamid: str = ""


def common_data(message: dict, context: dict) -> dict:
    """Data every message type may carry: forwarding flags, the product asked about, the ad
    it came from, and the errors Meta attached (e.g. to an unsupported message)."""
    data: dict[str, Any] = {}
    for flag in ("forwarded", "frequently_forwarded"):
        if context.get(flag) is True:
            data[flag] = True
    if "referred_product" in context:
        data["referred_product"] = context["referred_product"]
    if "referral" in message:
        data["referral"] = message["referral"]
    if "errors" in message:
        data["errors"] = read_errors(message.get("errors"))
    return data


def message_content(message: dict, kind: str) -> Content:
    if kind in _MEDIA_TYPES:
        return _media_content(message, kind)
    read = _CONTENT_READERS.get(kind, _unknown_content)
    return read(message, kind)


def _text_content(message: dict[str, Any], kind: str) -> Content:
    return Content(text=string_at(object_at(message, "text"), "body"))


def _media_content(message: dict[str, Any], kind: str) -> Content:
    media = object_at(message, kind)
    data: dict[str, Any] = {
        "media_id": string_at(media, "id"),
        "mime_type": string_at(media, "mime_type"),
        "sha256": string_at(media, "sha256"),
    }
    for key in ("filename", "caption", "url"):
        if key in media:
            data[key] = string_at(media, key)
    for key in ("voice", "animated"):
        if key in media:
            data[key] = media[key] is True
    return Content(text=data.get("caption", ""), data=data)


def _location_content(message: dict[str, Any], kind: str) -> Content:
    location = object_at(message, "location")
    return Content(
        data={
            "latitude": number_at(location, "latitude"),
            "longitude": number_at(location, "longitude"),
            "name": string_at(location, "name"),
            "address": string_at(location, "address"),
            "url": string_at(location, "url"),
        }
    )


def _contacts_content(message: dict[str, Any], kind: str) -> Content:
    return Content(data={"contacts": as_list(message.get("contacts"), "contacts")})


def _interactive_content(message: dict[str, Any], kind: str) -> Content:
    interactive = object_at(message, "interactive")
    sub_type = string_at(interactive, "type")
    reply = object_at(interactive, sub_type, "interactive reply") if sub_type else {}
    data: dict[str, Any] = {"interactive_type": sub_type}
    if sub_type in ("button_reply", "list_reply"):
        title = string_at(reply, "title")
        data |= {
            "reply_id": string_at(reply, "id"),
            "title": title,
            "description": string_at(reply, "description"),
        }
        return Content(text=title, data=data)
    if sub_type == "nfm_reply":  # a completed Flow
        body = string_at(reply, "body")
        data |= {
            "name": string_at(reply, "name"),
            "body": body,
            "response_json": _flow_response(reply.get("response_json")),
        }
        return Content(text=body, data=data)
    # Other replies (call permission, ...) are kept whole.
    data["payload"] = reply
    return Content(data=data)


def _flow_response(raw: Any) -> Any:
    """A Flow's answers: Meta sends a JSON string; keep it as a dict when it is one."""
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except ValueError:
            return raw
        return parsed if isinstance(parsed, dict) else raw
    return raw


def _button_content(message: dict[str, Any], kind: str) -> Content:
    button = object_at(message, "button")
    text = string_at(button, "text")
    return Content(text=text, data={"payload": string_at(button, "payload"), "text": text})


def _reaction_content(message: dict[str, Any], kind: str) -> Content:
    reaction = object_at(message, "reaction")
    target = string_at(reaction, "message_id")
    if not target:
        raise Malformed("reaction has no message_id")
    # An un-reaction comes with emoji "" or no emoji at all: both mean "removed".
    return Content(data={"emoji": string_at(reaction, "emoji")}, target_wamid=target)


def _order_content(message: dict[str, Any], kind: str) -> Content:
    order = object_at(message, "order")
    text = string_at(order, "text")
    data = {
        "catalog_id": string_at(order, "catalog_id"),
        "product_items": as_list(order.get("product_items"), "product_items"),
        "text": text,
    }
    return Content(text=text, data=data)


def _system_content(message: dict[str, Any], kind: str) -> Content:
    system = object_at(message, "system")
    body = string_at(system, "body")
    data: dict[str, Any] = {
        "system_type": string_at(system, "type"),
        "body": body,
        "new_wa_id": string_at(system, "wa_id") or string_at(system, "new_wa_id"),
    }
    new_user_id = string_at(system, "user_id") or string_at(system, "new_user_id")
    if new_user_id:
        data["new_user_id"] = new_user_id
    if string_at(system, "previous_user_id"):
        data["previous_user_id"] = string_at(system, "previous_user_id")
    if "identity" in message:
        data["identity"] = object_at(message, "identity")
    return Content(text=body, data=data)


def _unsupported_content(message: dict[str, Any], kind: str) -> Content:
    data = {}
    if "unsupported" in message:  # e.g. {"type": "poll"}
        data["unsupported"] = object_at(message, "unsupported")
    return Content(data=data)


def _edit_content(message: dict[str, Any], kind: str) -> Content:
    edit = object_at(message, "edit")
    target = string_at(edit, "original_message_id")
    if not target:
        raise Malformed("edit has no original_message_id")
    inner = object_at(edit, "message")
    inner_type = string_at(inner, "type")
    new = message_content(inner, inner_type)
    data = {"message": {"type": inner_type, "text": new.text, "data": new.data}}
    return Content(text=new.text, data=data, target_wamid=target)


def _revoke_content(message: dict[str, Any], kind: str) -> Content:
    target = string_at(object_at(message, "revoke"), "original_message_id")
    if not target:
        raise Malformed("revoke has no original_message_id")
    return Content(target_wamid=target)


def _request_welcome_content(message: dict[str, Any], kind: str) -> Content:
    return Content()


def _unknown_content(message: dict[str, Any], kind: str) -> Content:
    """A type we do not know yet: kept, with its type-specific object, to show as such."""
    return Content(data={"payload": message.get(kind)})


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
