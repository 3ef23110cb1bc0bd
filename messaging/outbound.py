"""The Cloud API request bodies for outbound message rows (built by the sending task)."""

from typing import Any

from messaging.events import CALLBACK_PREFIX
from messaging.message_templates.filling import template_payload
from messaging.models import Contact, Message
from messaging.uploads import media_payload


def recipient(contact: Contact) -> dict[str, str | None]:
    """`to` for a phone number; `recipient` for a username user known only by BSUID."""
    if contact.wa_id:
        return {"to": contact.wa_id}
    return {"recipient": contact.user_id}


def graph_payload(message: Message) -> dict[str, Any]:
    """The Cloud API request body for an outbound message row."""
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **recipient(message.conversation.contact),
        "type": message.type,
    }
    payload.update(content_for(message))
    if message.reply_to_wamid:
        payload["context"] = {"message_id": message.reply_to_wamid}
    payload["biz_opaque_callback_data"] = f"{CALLBACK_PREFIX}{message.pk}"
    return payload


def content_for(message: Message) -> dict[str, Any]:
    """The type-specific part of the request body."""
    if message.type == "text":
        return {"text": {"body": message.text, "preview_url": True}}
    if message.type == "reaction":
        return {"reaction": {"message_id": message.target_wamid, "emoji": message.data["emoji"]}}
    if message.type == "template":
        return {"template": template_payload(message)}
    if message.type in Message.MEDIA_TYPES:
        return {message.type: media_payload(message)}
    raise ValueError(f"cannot send messages of type {message.type!r}")


def read_receipt_payload(wamid: str | None) -> dict[str, str | None]:
    return {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
