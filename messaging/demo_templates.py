"""Demo message templates for `make run`: approved rows as `sync_templates` would store them,
so the composer can offer templates without a Meta account."""

from typing import Any

from django.utils import timezone

from messaging.models import MessageTemplate

DEMO_TEMPLATES: list[dict[str, Any]] = [
    {
        "template_id": "900000000000001",
        "name": "order_update",
        "language": "en_US",
        "category": MessageTemplate.Category.UTILITY,
        "parameter_format": MessageTemplate.ParameterFormat.POSITIONAL,
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}",
             "example": {"header_text": ["4567"]}},
            {"type": "BODY",
             "text": "Hello {{1}}, your order {{2}} is now *{{3}}*. Reply to this message if "
                     "you have any questions.",
             "example": {"body_text": [["Amina", "4567", "on its way"]]}},
            {"type": "FOOTER", "text": "Al Qalam Books"},
            {"type": "BUTTONS", "buttons": [
                {"type": "URL", "text": "Track order",
                 "url": "https://example.org/orders/{{1}}",
                 "example": ["https://example.org/orders/4567"]},
            ]},
        ],
    },
    {
        "template_id": "900000000000002",
        "name": "welcome_back_ar",
        "language": "ar",
        "category": MessageTemplate.Category.MARKETING,
        "parameter_format": MessageTemplate.ParameterFormat.NAMED,
        "components": [
            {"type": "BODY",
             "text": "مرحباً {{customer_name}}! يسعدنا تواصلك مع مكتبة القلم. "
                     "هل ما زلت مهتماً بـ {{topic}}؟",
             "example": {"body_text_named_params": [
                 {"param_name": "customer_name", "example": "أمينة"},
                 {"param_name": "topic", "example": "ورشة الخط العربي"},
             ]}},
            {"type": "FOOTER", "text": "مكتبة القلم"},
            {"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": "نعم"},
                {"type": "QUICK_REPLY", "text": "لا، شكراً"},
            ]},
        ],
    },
    {
        "template_id": "900000000000003",
        "name": "follow_up",
        "language": "en_US",
        "category": MessageTemplate.Category.UTILITY,
        "parameter_format": MessageTemplate.ParameterFormat.POSITIONAL,
        "components": [
            {"type": "BODY",
             "text": "Hello, this is Al Qalam Books following up on your message. Are you "
                     "still there? Reply to continue the conversation."},
        ],
    },
]  # fmt: skip


def seed_templates(waba_id: str) -> int:
    """Create the demo templates for `waba_id` unless the account already has templates;
    returns how many were created."""
    if MessageTemplate.objects.filter(waba_id=waba_id).exists():
        return 0
    now = timezone.now()
    MessageTemplate.objects.bulk_create(
        MessageTemplate(waba_id=waba_id, status="APPROVED", synced_at=now, **fields)
        for fields in DEMO_TEMPLATES
    )
    return len(DEMO_TEMPLATES)
