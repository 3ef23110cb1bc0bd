from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from messaging.health import Heartbeat
from messaging.maintenance import ensure_scheduled


class Command(DatabaseWorkerCommand):
    help = (
        f"{DatabaseWorkerCommand.help} Also keeps the periodic maintenance task (outbox "
        "sweep, retention purge) scheduled. Serves every queue unless told otherwise: a "
        "worker that skipped the webhooks queue would leave received messages unapplied."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(queue_name="*")

    def handle(self, *args: Any, **options: Any) -> None:
        ensure_scheduled(delay=timedelta(0))  # a first run right away
        # /healthz and /metrics tell from this whether workers are alive (messaging.health).
        heartbeat = Heartbeat(options["worker_id"])
        heartbeat.start()
        try:
            return super().handle(*args, **options)
        finally:
            heartbeat.stop()
