import random
from typing import Any

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from messaging import payloads as p
from messaging.signature import sign

ARABIC_TEXTS = [
    "السلام عليكم، متى يصل طلبي؟",
    "شكراً جزيلاً على المساعدة 🌹",
    "هل يمكنني تغيير العنوان؟",
]
ENGLISH_TEXTS = [
    "Hi! Is my order on its way?",
    "Thanks for the quick answer 🙏",
    "Can I change the delivery address?",
]
TYPES = ["text", "image", "audio", "video", "document", "sticker", "location", "reaction", "button"]


class Command(BaseCommand):
    help = (
        "Post correctly signed fake WhatsApp webhooks to a running server, for demos and manual "
        "testing. Signs with the first WHATSAPP_APP_SECRET unless --secret is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/webhooks/whatsapp/")
        parser.add_argument("--type", choices=TYPES, default="text", dest="kind")
        parser.add_argument("--text", help="Message text (default: a sample sentence).")
        parser.add_argument("--arabic", action="store_true", help="Use an Arabic sample text.")
        parser.add_argument("--from", dest="sender", default=p.USER_WA_ID, help="Sender's phone.")
        parser.add_argument("--name", default="Amina Khalid", help="Sender's profile name.")
        parser.add_argument(
            "--bsuid",
            help="Sender's business-scoped user id (e.g. US.13491208655302741918).",
        )
        parser.add_argument(
            "--bsuid-only",
            action="store_true",
            help="Send as a username user: BSUID and username, no phone number.",
        )
        parser.add_argument("--username", default="amina.k")
        parser.add_argument("--react-to", help="Wamid the reaction targets (for --type reaction).")
        parser.add_argument(
            "--status",
            nargs=2,
            metavar=("WAMID", "STATUS"),
            help="Send a delivery status (sent, delivered, read, played, failed) instead.",
        )
        parser.add_argument("--batch", type=int, default=1, help="Messages per POST.")
        parser.add_argument("--posts", type=int, default=1, help="How many POSTs to send.")
        parser.add_argument("--phone-number-id", default=p.PHONE_NUMBER_ID)
        parser.add_argument("--display-number", default=p.DISPLAY_PHONE_NUMBER)
        parser.add_argument("--secret", help="App secret to sign with.")

    def handle(self, *args: Any, **options: Any) -> None:
        secret = options["secret"] or next(iter(settings.WHATSAPP_APP_SECRETS), None)
        if not secret:
            raise CommandError("No app secret: set WHATSAPP_APP_SECRET or pass --secret.")
        if options["batch"] < 1 or options["posts"] < 1:
            raise CommandError("--batch and --posts must be at least 1.")
        session = requests.Session()
        for number in range(1, options["posts"] + 1):
            body = p.encode(self.build(options))
            try:
                response = session.post(
                    options["url"],
                    data=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Hub-Signature-256": sign(body, secret),
                    },
                    timeout=10,
                )
            except requests.RequestException as exc:
                raise CommandError(f"Could not reach {options['url']}: {exc}") from exc
            if response.status_code != 200:
                raise CommandError(f"POST {number}: the server answered {response.status_code}.")
            self.stdout.write(f"  {number}/{options['posts']} POST(s) accepted", ending="\r")
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Sent {options['posts']} signed webhook(s)."))

    def build(self, options: dict[str, Any]) -> dict:
        metadata = {
            "phone_number_id": options["phone_number_id"],
            "display_phone_number": options["display_number"],
        }
        if options["status"]:
            wamid, status = options["status"]
            errors = [p.error(131026, "Message undeliverable")] if status == "failed" else None
            return p.envelope(
                p.value(
                    statuses=[p.status(wamid, status, recipient=options["sender"], errors=errors)],
                    **metadata,
                )
            )
        bsuid = options["bsuid"] or ("US." + str(random.randrange(10**17, 10**18)))  # noqa: S311
        if options["bsuid_only"]:
            contact = p.contact(user_id=bsuid, username=options["username"], name=options["name"])
            sender: dict[str, Any] = {"sender": bsuid}
        else:
            contact = p.contact(
                wa_id=options["sender"], user_id=options["bsuid"], name=options["name"]
            )
            sender = {"sender": options["sender"]}
        messages = [self.message(options, sender) for _ in range(options["batch"])]
        return p.envelope(p.value(contacts=[contact], messages=messages, **metadata))

    def message(self, options: dict[str, Any], sender: dict[str, Any]) -> dict:
        kind = options["kind"]
        text = options["text"] or random.choice(  # noqa: S311
            ARABIC_TEXTS if options["arabic"] else ENGLISH_TEXTS
        )
        if kind == "text":
            return p.text_message(text, **sender)
        if kind in p.MEDIA_MIME_TYPES:
            extra: dict[str, Any] = {"filename": "invoice.pdf"} if kind == "document" else {}
            extra |= {"voice": True} if kind == "audio" else {}
            caption = text if kind in {"image", "video", "document"} else None
            return p.media_message(kind, caption=caption, **extra, **sender)
        if kind == "location":
            return p.location_message(
                24.7136, 46.6753, name="Al Qalam office", address="Riyadh", **sender
            )
        if kind == "reaction":
            if not options["react_to"]:
                raise CommandError("--type reaction needs --react-to WAMID.")
            return p.reaction_message(options["react_to"], "👍", **sender)
        return p.message("button", {"payload": "track-order", "text": "Track my order"}, **sender)
