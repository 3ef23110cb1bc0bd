"""Demo configuration of teamwork and automation for `make run` (seed_demo): a few labels and
quick replies, business hours for the demo number, a greeting and an away message, and one
routing rule. Safe to run again: rows are found by their names and updated, never duplicated."""

from datetime import time

from automation.models import (
    AutoReply,
    BusinessHours,
    Label,
    OpeningPeriod,
    QuickReply,
    QuickReplyText,
    RoutingRule,
)
from messaging import payloads as p
from messaging.models import BusinessNumber

LABELS = [
    ("Billing", Label.Colour.BLUE, "Invoices, payments and refunds"),
    ("Urgent", Label.Colour.RED, "Needs an answer today"),
    ("Workshops", Label.Colour.PURPLE, "Calligraphy workshops and registration"),
    ("VIP", Label.Colour.YELLOW, ""),
]
QUICK_REPLIES = [
    (
        "hours",
        "Opening hours",
        {
            "en": "Hello {first_name}, we answer Sunday to Thursday, 9:00 to 17:00 (Riyadh time).",
            "ar": "أهلاً {first_name}، نرد من الأحد إلى الخميس، من 9 صباحاً حتى 5 مساءً "
            "بتوقيت الرياض.",
        },
    ),
    (
        "thanks",
        "Thank you",
        {
            "en": "Thank you, {first_name}! {agent} from Al Qalam.",
            "ar": "شكراً لك يا {first_name}! {agent} من القلم.",
        },
    ),
    (
        "shipping",
        "Shipping times",
        {
            "en": "Orders ship within 2 working days; delivery takes 3 to 5 working days.",
            "ar": "نشحن الطلبات خلال يومي عمل، ويستغرق التوصيل من 3 إلى 5 أيام عمل.",
        },
    ),
]
AUTO_REPLIES = [
    (
        AutoReply.Kind.GREETING,
        "en",
        "Welcome to Al Qalam, {first_name}! A colleague will answer soon.",
    ),
    (
        AutoReply.Kind.GREETING,
        "ar",
        "أهلاً بك في القلم يا {first_name}! سيرد عليك أحد الزملاء قريباً.",
    ),
    (
        AutoReply.Kind.AWAY,
        "en",
        "Thank you for your message. We are closed now and answer Sunday to Thursday, "
        "9:00 to 17:00 (Riyadh time).",
    ),
    (
        AutoReply.Kind.AWAY,
        "ar",
        "شكراً لرسالتك. نحن خارج أوقات العمل الآن، ونرد من الأحد إلى الخميس من 9 صباحاً حتى 5 مساءً.",
    ),
]
RULE_NAME = "Invoices to Billing"


def seed_teamwork(agent=None):
    """Create or update the demo configuration; returns how many rows it touched."""
    touched = 0
    labels = {}
    for name, colour, description in LABELS:
        labels[name], _ = Label.objects.update_or_create(
            name=name, defaults={"colour": colour, "description": description}
        )
        touched += 1
    for shortcut, title, texts in QUICK_REPLIES:
        quick_reply, _ = QuickReply.objects.update_or_create(
            shortcut=shortcut, defaults={"title": title, "is_active": True}
        )
        for language, text in texts.items():
            QuickReplyText.objects.update_or_create(
                quick_reply=quick_reply, language=language, defaults={"text": text}
            )
        touched += 1
    for kind, language, text in AUTO_REPLIES:
        AutoReply.objects.update_or_create(
            kind=kind, business_number=None, language=language, defaults={"text": text}
        )
        touched += 1
    number = BusinessNumber.objects.filter(phone_number_id=p.PHONE_NUMBER_ID).first()
    if number is not None:
        hours, _ = BusinessHours.objects.get_or_create(
            business_number=number, defaults={"time_zone": "Asia/Riyadh"}
        )
        if not hours.periods.exists():
            OpeningPeriod.objects.bulk_create(
                OpeningPeriod(hours=hours, weekday=day, opens=time(9), closes=time(17))
                for day in (6, 0, 1, 2, 3)  # Sunday to Thursday
            )
        touched += 1
    RoutingRule.objects.update_or_create(
        name=RULE_NAME,
        defaults={
            "position": 10,
            "match": RoutingRule.Match.CONTAINS,
            "pattern": "invoice",
            "action": RoutingRule.Action.LABEL,
            "label": labels["Billing"],
        },
    )
    return touched + 1
