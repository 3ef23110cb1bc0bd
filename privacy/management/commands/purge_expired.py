from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from privacy.retention import BATCH_SIZE, periods, purge_expired


class Command(BaseCommand):
    help = (
        "Apply the retention periods (RETENTION_* settings): redact old message content, delete "
        "old messages, internal notes and staff notifications, raw webhook bodies, task "
        "results, audit events, sign-in records, handled deletion requests and erasure "
        "tombstones. "
        "Batched, safe to run while the app runs and to run again. The task worker also does "
        "this once a day by itself; run this from cron if no worker runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"Rows per transaction (default {BATCH_SIZE}).",
        )

    def handle(self, *args: Any, batch_size: int, verbosity: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        days = periods()
        if verbosity:
            self.stdout.write(
                f"Retention: content {days.content} d, metadata {days.metadata} d, notes and "
                f"staff notifications {days.notes} d, webhook bodies {days.webhook} d, task "
                f"results {days.task_results} d, audit and sign-in records {days.audit} d, "
                f"handled deletion requests and tombstones {days.closed_requests} d."
            )

        def progress(step: str, done: int) -> None:
            if verbosity > 1 or (verbosity and done):
                self.stdout.write(f"  {step.replace('_', ' ')}: {done}")

        counts = purge_expired(progress=progress, batch_size=batch_size)
        if verbosity:
            summary = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in counts.items())
            self.stdout.write(self.style.SUCCESS(f"Done: {summary}."))
