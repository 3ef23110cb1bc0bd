"""Demo conversations for `make run`, delivered through the real ingestion path."""

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone

from messaging import payloads as p
from messaging.demo_templates import seed_templates
from messaging.ingest import receive
from messaging.models import BusinessNumber, Conversation, Message

DEMO_NUMBER_NAME = "Al Qalam Support"
FIRST_DEMO_WAMID = "wamid.DEMO-amina-1"


def seed_conversations(agent: User, now: datetime | None = None) -> int:
    """Deliver a handful of realistic webhook bodies, once, and a few replies by `agent`
    whose statuses arrive by webhook too; returns how many bodies were delivered."""
    if Message.objects.filter(wamid=FIRST_DEMO_WAMID).exists():
        return 0
    now = now or timezone.now()

    def ago(**delta: float) -> datetime:
        return now - timedelta(**delta)

    amina: dict[str, Any] = {"sender": "966501234567"}
    john: dict[str, Any] = {"sender": "447700900123"}
    noor_bsuid = "SA.4417730098812244"
    omar: dict[str, Any] = {"sender": "201001234567"}
    bodies = [
        p.value(
            contacts=[p.contact(wa_id=amina["sender"], name="أمينة خالد")],
            messages=[
                p.text_message(
                    "السلام عليكم، طلبت كتاباً الأسبوع الماضي ولم يصل بعد. رقم الطلب ٤٥٦٧",
                    wamid=FIRST_DEMO_WAMID,
                    timestamp=ago(minutes=42),
                    **amina,
                ),
                p.media_message(
                    "image",
                    caption="صورة الإيصال",
                    wamid="wamid.DEMO-amina-2",
                    timestamp=ago(minutes=41),
                    **amina,
                ),
            ],
        ),
        p.value(
            contacts=[p.contact(wa_id=john["sender"], name="John Carter")],
            messages=[
                p.text_message(
                    "Hi! Do you ship to the UK? *Urgent*: it's a gift for Friday.",
                    wamid="wamid.DEMO-john-1",
                    timestamp=ago(hours=3),
                    **john,
                ),
                p.location_message(
                    51.5072,
                    -0.1276,
                    name="Delivery address",
                    address="10 Example Street, London",
                    wamid="wamid.DEMO-john-2",
                    timestamp=ago(hours=3, minutes=-2),
                    **john,
                ),
            ],
        ),
        p.value(
            contacts=[p.contact(user_id=noor_bsuid, username="noor.reads")],
            messages=[
                p.text_message(
                    "Is the Arabic calligraphy workshop still open for registration?",
                    sender=noor_bsuid,
                    wamid="wamid.DEMO-noor-1",
                    timestamp=ago(hours=20),
                )
            ],
        ),
        p.value(
            contacts=[p.contact(wa_id=omar["sender"], name="Omar Haddad")],
            messages=[
                p.media_message(
                    "document",
                    filename="invoice-2026-114.pdf",
                    caption="Invoice for the school order",
                    wamid="wamid.DEMO-omar-1",
                    timestamp=ago(days=2),
                    **omar,
                ),
                p.reaction_message(
                    "wamid.DEMO-omar-1",
                    "👍",
                    wamid="wamid.DEMO-omar-2",
                    timestamp=ago(days=2),
                    **omar,
                ),
            ],
        ),
    ]
    for body in bodies:
        receive(p.encode(p.envelope(body)))
    BusinessNumber.objects.filter(phone_number_id=p.PHONE_NUMBER_ID, name="").update(
        name=DEMO_NUMBER_NAME
    )
    replies = [
        (john["sender"], "Yes, we ship to the UK: 3-5 working days. *Friday* is possible.",
         ago(hours=2, minutes=50), ["sent", "delivered", "read"], None),
        (noor_bsuid, "It is! Registration closes on Thursday.",
         ago(hours=19), ["sent", "delivered"], None),
        (omar["sender"], "Thank you, Omar. We will check the invoice.",
         ago(days=1, hours=20), ["failed"],
         p.error(131047, "Re-engagement message",
                 details="More than 24 hours have passed since the customer last replied.")),
    ]  # fmt: skip
    for number, (recipient, text, sent_at, statuses, error) in enumerate(replies, start=1):
        conversation = Conversation.objects.get(
            Q(contact__wa_id=recipient) | Q(contact__user_id=recipient)
        )
        wamid = f"wamid.DEMO-reply-{number}"
        message = Message.objects.create(
            conversation=conversation,
            direction=Message.Direction.OUTBOUND,
            type="text",
            text=text,
            wamid=wamid,
            timestamp=sent_at,
            status=Message.Status.PENDING,
            sent_by=agent,
        )
        Conversation.record_activity([message])
        updates = [
            p.status(
                wamid,
                status,
                timestamp=sent_at + timedelta(seconds=step + 1),
                recipient=recipient,
                errors=[error] if status == "failed" else None,
            )
            for step, status in enumerate(statuses)
        ]
        receive(p.encode(p.envelope(p.value(statuses=updates))))
    # Approved templates, so the closed-window conversations can be answered in the demo.
    seed_templates(p.WABA_ID)
    return len(bodies) + len(replies)
