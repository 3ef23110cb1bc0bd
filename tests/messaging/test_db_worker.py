"""`db_worker` outlives what goes wrong around it (messaging.worker.ResilientWorker): a bad
task is recorded as failed and the next one runs; a database that goes away is waited for,
with backoff, and the worker carries on when it is back."""

import logging
import threading
import time

import psycopg
import pytest
from django.db import connection, connections
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from messaging import payloads as p
from messaging.ingest import WEBHOOK_QUEUE, accept
from messaging.management.commands.db_worker import Command as DatabaseWorkerCommand
from messaging.models import Message, WebhookEvent
from messaging.worker import ResilientWorker


def body(text="Hello", wamid="wamid.W1"):
    return p.encode(p.envelope(p.value(messages=[p.text_message(text, wamid=wamid)])))


def worker(**overrides):
    options = {
        "queue_names": ["*"],
        "interval": 0.05,
        "batch": False,
        "backend_name": "default",
        "startup_delay": False,
        "max_tasks": None,
        "worker_id": "test-resilient",
        "excluded_queue_names": [],
    }
    return ResilientWorker(**(options | overrides))


class WorkerThread(threading.Thread):
    """A worker on its own thread, so with its own database connections, as in production."""

    def __init__(self, worker):
        super().__init__(daemon=True)
        self.worker = worker
        self.error = None

    def run(self):
        try:
            self.worker.run()
        except BaseException as error:  # the test reports whatever ended the worker
            self.error = error
        finally:
            connections.close_all()

    def stop(self):
        self.worker.running = False
        self.join(timeout=10)


def wait_for(condition, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_bad_task_is_marked_failed_and_the_worker_runs_the_next_one():
    DBTaskResult.objects.create(
        task_path="messaging.nowhere.no_such_task",
        queue_name=WEBHOOK_QUEUE,
        backend_name="default",
        args_kwargs={"args": [], "kwargs": {}},
        priority=100,
        run_after=DBTaskResult._meta.get_field("run_after").get_default(),
    )
    accept(body())

    worker(batch=True).run()

    assert DBTaskResult.objects.get(task_path__endswith="no_such_task").status == (
        TaskResultStatus.FAILED
    )
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED


def cut_the_database(seconds):
    """Refuse new sessions to the test database and end every open one, for a while (from
    the server's maintenance database: PostgreSQL will not lock out the current one)."""
    name = connection.settings_dict["NAME"]
    quoted = connection.ops.quote_name(name)
    params = connection.get_connection_params() | {"dbname": "postgres", "autocommit": True}
    connection.close()  # the test's own session goes too, and comes back afterwards
    with psycopg.connect(**params) as admin:
        admin.execute(f"ALTER DATABASE {quoted} ALLOW_CONNECTIONS false")
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [name],
            )
            time.sleep(seconds)
        finally:
            admin.execute(f"ALTER DATABASE {quoted} ALLOW_CONNECTIONS true")


@pytest.mark.django_db(transaction=True)
def test_a_worker_waits_out_a_database_outage_and_applies_what_arrives_afterwards(caplog, settings):
    if connection.vendor != "postgresql":
        pytest.skip("cutting a worker off needs PostgreSQL (ALLOW_CONNECTIONS false)")
    settings.WORKER_DB_BACKOFF_MAX_SECONDS = 0.5
    caplog.set_level(logging.INFO, logger="messaging.worker")
    thread = WorkerThread(worker())
    thread.start()
    try:
        accept(body("Before", wamid="wamid.W0"))
        assert wait_for(lambda: Message.objects.filter(text="Before").exists())

        cut_the_database(3)
        accept(body("After", wamid="wamid.W2"))

        assert wait_for(lambda: Message.objects.filter(text="After").exists()), thread.error
        assert thread.is_alive()
    finally:
        thread.stop()
    assert thread.error is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once per outage, however many retries
    assert "database unavailable" in warnings[0].getMessage()
    assert any("database is back" in r.getMessage() for r in caplog.records)


def test_an_idle_worker_looks_for_work_five_times_a_second_and_serves_every_queue_by_default():
    options = DatabaseWorkerCommand().create_parser("manage.py", "db_worker").parse_args([])

    assert options.interval == 0.2
    assert options.queue_name == "*"
