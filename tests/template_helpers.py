"""Message templates for tests, in Meta's format (as GET /{waba-id}/message_templates lists
them), and a conversation whose 24-hour window has closed."""

import zlib
from datetime import timedelta

from django.utils import timezone

from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import Conversation, MessageTemplate

ORDER_UPDATE = [
    {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}",
     "example": {"header_text": ["4567"]}},
    {"type": "BODY", "text": "Hello {{1}}, your order {{2}} is {{3}}.",
     "example": {"body_text": [["Amina", "4567", "on its way"]]}},
    {"type": "FOOTER", "text": "Al Qalam Books"},
    {"type": "BUTTONS", "buttons": [
        {"type": "QUICK_REPLY", "text": "Thanks"},
        {"type": "URL", "text": "Track", "url": "https://example.org/track/{{1}}",
         "example": ["https://example.org/track/4567"]},
    ]},
]  # fmt: skip

WELCOME_BACK = [
    {"type": "BODY", "text": "مرحباً {{customer_name}}، هل ما زلت مهتماً بـ {{topic}}؟",
     "example": {"body_text_named_params": [
         {"param_name": "customer_name", "example": "أمينة"},
         {"param_name": "topic", "example": "الخط العربي"},
     ]}},
]  # fmt: skip

HELLO_WORLD = [
    {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
    {"type": "BODY", "text": "Welcome and congratulations!!"},
    {"type": "FOOTER", "text": "WhatsApp Business API Team"},
]


def template_id_for(name):
    return f"{zlib.crc32(name.encode()):015d}"


def meta_template(name, components, **fields):
    """One item of Meta's template list."""
    return {
        "id": fields.pop("id", template_id_for(name)),
        "name": name,
        "language": fields.pop("language", "en_US"),
        "status": fields.pop("status", "APPROVED"),
        "category": fields.pop("category", "UTILITY"),
        "components": components,
        **fields,
    }


def make_template(name="order_update", components=ORDER_UPDATE, **fields):
    fields = {
        "waba_id": p.WABA_ID,
        "template_id": template_id_for(name),
        "language": "en_US",
        "category": "UTILITY",
        "status": "APPROVED",
        **fields,
    }
    return MessageTemplate.objects.create(name=name, components=components, **fields)


def deliver_text(text="Hello", *, hours_ago=0.1, sender=p.USER_WA_ID):
    """A customer's message `hours_ago` (over 24: the window has closed)."""
    when = timezone.now() - timedelta(hours=hours_ago)
    receive(
        p.encode(
            p.envelope(
                p.value(
                    contacts=[p.contact(wa_id=sender, name="Amina Khalid")],
                    messages=[p.text_message(text, sender=sender, timestamp=when)],
                )
            )
        )
    )
    return Conversation.objects.get(contact__wa_id=sender)
