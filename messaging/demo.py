"""Demo conversations for `make run`, delivered through the real ingestion path."""

from datetime import timedelta

from django.utils import timezone

from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import BusinessNumber, Message

DEMO_NUMBER_NAME = "Al Qalam Support"
FIRST_DEMO_WAMID = "wamid.DEMO-amina-1"


def seed_conversations(now=None):
    """Deliver a handful of realistic webhook bodies, once; returns how many were delivered."""
    if Message.objects.filter(wamid=FIRST_DEMO_WAMID).exists():
        return 0
    now = now or timezone.now()

    def ago(**delta):
        return now - timedelta(**delta)

    amina = {"sender": "966501234567"}
    john = {"sender": "447700900123"}
    noor_bsuid = "SA.4417730098812244"
    omar = {"sender": "201001234567"}
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
    return len(bodies)
