"""Delivering webhook bodies the way production does: the endpoint stores each body and
queues its application; `db_worker` applies it. Here the queued applications run in the
test's own thread (or, for the PostgreSQL concurrency tests, in many threads at once). And
finding the shared WhatsApp payload corpus."""

import threading
from pathlib import Path

from django.db import connection
from django.test import Client
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from messaging.ingest import WEBHOOK_QUEUE
from messaging.models import WebhookEvent
from messaging.signature import sign

URL = "/webhooks/whatsapp/"


def webhook_worker(worker_id="tests", max_tasks=None):
    return Worker(
        queue_names=[WEBHOOK_QUEUE],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id=worker_id,
        excluded_queue_names=[],
    )


def run_webhook_tasks():
    """Run the queued webhook applications as `db_worker` runs them (claim the task row,
    call the task, record its result), but inside the test's transaction: the worker's own
    loop closes the connection between tasks, which would end that transaction."""
    worker = webhook_worker()
    ran = 0
    while task_result := DBTaskResult.objects.ready().filter(queue_name=WEBHOOK_QUEUE).first():
        task_result.claim(worker.worker_id)
        worker.run_task(task_result)
        ran += 1
    return ran


def post_concurrently(bodies, settings):
    """POST every body at the same moment, each from its own thread and connection, then
    apply what was stored from as many concurrent workers; the response status codes, in
    completion order."""
    statuses = []

    def deliver(body):
        response = Client().post(
            URL,
            body,
            content_type="application/json",
            headers={"X-Hub-Signature-256": sign(body, settings.WHATSAPP_APP_SECRETS[0])},
        )
        statuses.append(response.status_code)

    run_together(deliver, bodies)
    # As many workers as queued tasks, each taking one (the worker's own claim, with SKIP
    # LOCKED on PostgreSQL), all at once.
    queued = DBTaskResult.objects.ready().filter(queue_name=WEBHOOK_QUEUE).count()
    run_together(lambda n: webhook_worker(f"worker-{n}", max_tasks=1).run(), range(queued))
    # A worker that found every row locked by the others gave up (batch mode): the rest.
    webhook_worker().run()
    assert not WebhookEvent.objects.filter(state=WebhookEvent.State.RECEIVED).exists()
    return statuses


def run_together(work, arguments):
    """Call work(argument) for every argument at the same moment, each in its own thread
    with its own database connection."""
    start = threading.Barrier(len(arguments))

    def run(argument):
        try:
            start.wait()
            work(argument)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(argument,)) for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def corpus_dir() -> Path:
    """../shared/whatsapp-corpus beside the repository, or beside any folder above it (a git
    worktree nests the checkout deeper); the first candidate when there is none."""
    candidates = [
        parent / "shared" / "whatsapp-corpus" for parent in Path(__file__).resolve().parents[2:]
    ]
    return next((path for path in candidates if path.is_dir()), candidates[0])
