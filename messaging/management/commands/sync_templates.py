from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from messaging.message_templates.sync import TemplateSyncError, sync_templates


class Command(BaseCommand):
    help = (
        "Mirror the message templates of the WhatsApp Business Account from Meta's Graph API "
        "(GET /{waba-id}/message_templates, every page): new ones are added, changed ones "
        "updated, and ones Meta no longer lists removed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--waba-id",
            default=None,
            help="WhatsApp Business Account id (default: the WHATSAPP_WABA_ID setting).",
        )

    def handle(self, *args: Any, waba_id: str | None, **options: Any) -> None:
        waba_id = waba_id or settings.WHATSAPP_WABA_ID
        if not waba_id:
            raise CommandError(
                "No WhatsApp Business Account id: set WHATSAPP_WABA_ID or pass --waba-id."
            )
        self.stdout.write(f"Fetching the message templates of WABA {waba_id}…")

        fetched = [0]

        def progress(count: int) -> None:
            fetched[0] = count
            if count % 100 == 0:  # Meta's page size
                self.stdout.write(f"  {count} templates fetched", ending="\r")

        try:
            created, updated, removed = sync_templates(waba_id, progress=progress)
        except TemplateSyncError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"  {fetched[0]} templates fetched")
        self.stdout.write(
            self.style.SUCCESS(
                f"Templates synchronised: {created} new, {updated} changed, {removed} removed."
            )
        )
