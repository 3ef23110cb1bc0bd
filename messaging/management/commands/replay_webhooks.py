from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from messaging.ingest import apply_stored
from messaging.models import WebhookEvent


def moment(value: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise CommandError(f"Not a date or date-time: {value!r}") from None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


class Command(BaseCommand):
    help = (
        "Apply stored webhook bodies again (idempotently: what already landed is not "
        "duplicated). By default every failed one; or pick by id, time range and state."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="Webhook event ids.")
        parser.add_argument("--since", type=moment, help="Received at or after (ISO date/time).")
        parser.add_argument("--until", type=moment, help="Received before (ISO date/time).")
        parser.add_argument(
            "--state",
            choices=[*WebhookEvent.State.values, "any"],
            default=None,
            help="Only events in this state (default: failed, or any when ids are given).",
        )

    def handle(
        self,
        *args: Any,
        ids: list[int],
        since: datetime | None,
        until: datetime | None,
        state: str | None,
        **options: Any,
    ) -> None:
        events = WebhookEvent.objects.order_by("pk")
        if ids:
            events = events.filter(pk__in=ids)
        if since:
            events = events.filter(received_at__gte=since)
        if until:
            events = events.filter(received_at__lt=until)
        state = state or ("any" if ids else WebhookEvent.State.FAILED)
        if state != "any":
            events = events.filter(state=state)

        total = events.count()
        if not total:
            self.stdout.write("No webhook events match.")
            return
        failed = 0
        for done, pk in enumerate(events.values_list("pk", flat=True).iterator(100), start=1):
            event = apply_stored(pk, again=True)
            if event and event.state == WebhookEvent.State.FAILED:
                failed += 1
                self.stderr.write(f"  event {event.pk} still fails: {event.error.splitlines()[0]}")
            if done % 100 == 0 or done == total:
                self.stdout.write(
                    f"  {done}/{total} re-applied", ending="\r" if done < total else "\n"
                )
        style = self.style.WARNING if failed else self.style.SUCCESS
        self.stdout.write(style(f"Re-applied {total} webhook event(s); {failed} still failing."))
