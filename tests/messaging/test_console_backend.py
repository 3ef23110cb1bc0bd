"""The console transport: what `make run` uses without an access token."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from messaging import payloads as p
from messaging.backends.console import ConsoleBackend
from messaging.ingest import receive
from messaging.models import Conversation, Message
from messaging.sending import queue_text_reply

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_prints_the_request_and_returns_a_fake_wamid():
    stream = io.StringIO()

    result = ConsoleBackend(stream=stream).send("106540352242922", {"to": "1", "type": "text"})

    assert result.wamid.startswith("wamid.CONSOLE")
    assert f"POST /106540352242922/messages → {result.wamid}" in stream.getvalue()


def run_worker():
    call_command(
        "db_worker",
        "--batch",
        "--no-reload",
        "--no-startup-delay",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )


def test_its_simulated_statuses_move_the_ticks_through_the_real_status_path(settings, staff_user):
    # Statuses an hour away: however slow the first worker run, none of them is due in it.
    settings.WHATSAPP_TRANSPORT = {
        "BACKEND": "messaging.backends.console.ConsoleBackend",
        "OPTIONS": {"stream": io.StringIO(), "status_delays": (3600, 3601, 3602)},
    }
    receive(
        p.encode(
            p.envelope(
                p.value(contacts=[p.contact(wa_id=p.USER_WA_ID)], messages=[p.text_message("hi")])
            )
        )
    )
    message = queue_text_reply(Conversation.objects.get(), staff_user, "Hello from the demo")
    run_worker()
    message.refresh_from_db()
    assert message.status == "sent"

    simulated = DBTaskResult.objects.filter(task_path="messaging.tasks.simulate_status")
    assert simulated.filter(status="READY").count() == 3
    simulated.update(run_after=timezone.now() - timedelta(seconds=1))  # let the hour pass
    run_worker()

    message.refresh_from_db()
    assert message.status == "read"
    assert list(
        message.status_events.order_by("timestamp", "pk").values_list("status", flat=True)
    ) == [
        "sent",
        "delivered",
        "read",
    ]
    assert Message.objects.filter(direction="out").count() == 1


def test_by_default_the_ticks_move_within_seconds():
    backend = ConsoleBackend(stream=io.StringIO())

    assert backend.status_delays == (1, 3, 6)
