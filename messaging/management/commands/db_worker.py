import os
from argparse import ArgumentParser
from datetime import timedelta
from functools import partial
from typing import Any

from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from messaging.health import Heartbeat
from messaging.maintenance import ensure_scheduled
from messaging.worker import ResilientWorker

IDLE_INTERVAL_SECONDS = 0.2


class Command(DatabaseWorkerCommand):
    help = (
        f"{DatabaseWorkerCommand.help} Outlives database outages (waits, then carries on) "
        "and keeps the periodic maintenance task (outbox sweep, retention purge, stranded "
        "webhooks) scheduled. Serves every queue unless told otherwise: a worker that "
        "skipped the webhooks queue would leave received messages unapplied."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        # An idle worker looks for work five times a second, not once: a staff reply or a
        # message that arrives while it waits goes out, or shows, up to a second sooner (a
        # cheap indexed query on the waiting tasks).
        parser.set_defaults(queue_name="*", interval=IDLE_INTERVAL_SECONDS)

    def handle(self, *args: Any, **options: Any) -> None:
        # The library's handle() builds its own Worker; this one differs only in the class.
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = ResilientWorker(
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
        )
        ensure_scheduled(delay=timedelta(0))  # a first run right away
        if options["reload"] and not options["batch"]:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()  # only the reloader's child runs tasks
            run_with_reloader(partial(run_beating, worker, options["worker_id"]))
        else:
            worker.configure_signals()
            run_beating(worker, options["worker_id"])


def run_beating(worker: ResilientWorker, worker_id: str) -> None:
    """Run the worker while its heartbeat tells /healthz and /metrics it is alive
    (messaging.health); in the process that runs tasks, never the reloader's parent."""
    heartbeat = Heartbeat(worker_id)
    heartbeat.start()
    try:
        worker.run()
    finally:
        heartbeat.stop()
