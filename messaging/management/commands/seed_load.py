"""Bulk, realistic data for benchmarks: contacts, conversations, messages and statuses.

    manage.py seed_load --contacts 10000 --messages 1000000 [--numbers 2]
                        [--big-conversations 3] [--big-size 12000] [--seed 1]

What it makes (all deterministic for a given --seed and --now):

- `--numbers` business numbers (reused when they exist) and five staff senders;
- `--contacts` contacts (Arabic and English names; most with a phone number, some with a
  business-scoped user id too, some with a BSUID and username only), one conversation each;
- `--messages` messages spread over the last `--days` days in a realistic order: text
  mostly (Arabic and English), images, documents, voice notes, stickers, locations, button
  replies, reactions (applied to the message they react to), replies quoting earlier
  messages; outbound staff replies and templates with their delivery statuses (sent,
  delivered, read, failed with Meta's error) and one status event per status Meta reported;
- `--big-conversations` conversations of `--big-size` (10,000+) messages each;
- every conversation's denormalised fields (last_message, last_message_at, last_inbound_at,
  unread_count, state) exactly as the webhook path would have left them.

Rows are written in global time order, as production inserts them, so a conversation's
messages are spread over the table the way they would be. On PostgreSQL it uses COPY (about a
million messages a minute); elsewhere `bulk_create` in batches. Everything is one transaction:
an interrupted load leaves nothing behind. Meant for a benchmark or development database:
it locks the tables it fills while it runs, and refuses to load the same --seed twice (its
phone numbers and message ids would collide).

The work is done by messaging.seeding; this command checks its options and reports.
"""

import time
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from messaging.seeding import tables
from messaging.seeding.load import Load
from messaging.seeding.planning import CONV_BITS


class Command(BaseCommand):
    help = (
        "Load bulk, realistic benchmark data: contacts, one conversation each, messages of "
        "mixed types in Arabic and English with statuses, and a few 10,000+ message "
        "conversations. PostgreSQL COPY when available. Deterministic for a given --seed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--contacts", type=int, default=10_000)
        parser.add_argument("--messages", type=int, default=1_000_000)
        parser.add_argument("--numbers", type=int, default=2, help="Business numbers.")
        parser.add_argument(
            "--big-conversations",
            type=int,
            default=3,
            help="Conversations of --big-size messages each (default 3).",
        )
        parser.add_argument("--big-size", type=int, default=12_000)
        parser.add_argument("--days", type=int, default=60, help="Time span of the messages.")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--now",
            help="ISO date-time the data ends at (default: now); with --seed, repeatable.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        seed, contacts, messages = options["seed"], options["contacts"], options["messages"]
        if contacts < 1 or messages < 0 or options["numbers"] < 1 or options["days"] < 1:
            raise CommandError(
                "--contacts and --numbers must be at least 1, --messages at least 0."
            )
        if not 0 <= seed < 10_000:
            raise CommandError("--seed must be between 0 and 9999.")
        if contacts >= 2**CONV_BITS:
            raise CommandError(f"--contacts must be below {2**CONV_BITS:,}.")
        if options["big_conversations"] > contacts:
            raise CommandError("--big-conversations cannot exceed --contacts.")
        status_events = Load(self.stdout, options, self.parse_now(options["now"])).run()
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {contacts:,} contacts, {contacts:,} conversations, {messages:,} "
                f"messages and {status_events:,} status events in {elapsed:.1f} s "
                f"({'COPY' if tables.postgres() else 'bulk_create'}, seed {seed})."
            )
        )

    def parse_now(self, value: str | None) -> int:
        if not value:
            return int(timezone.now().timestamp())
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise CommandError(f"--now must be an ISO date-time, not {value!r}.") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())
