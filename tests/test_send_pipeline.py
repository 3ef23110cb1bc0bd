"""messaging.tasks: the outbox from pending row to Meta, with retries, pauses and recovery."""

import io
import threading
import uuid
from datetime import timedelta

import pytest
import requests
import responses
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from messaging import payloads as p
from messaging.backends import locmem
from messaging.backends.base import SendError
from messaging.ingest import receive
from messaging.models import BusinessNumber, Conversation, Message, SendAttempt
from messaging.sending import queue_text_reply
from messaging.tasks import resume_sending, retry_message, send_message, sweep_outbox

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.facebook.com/v23.0"
MESSAGES_URL = f"{GRAPH}/{p.PHONE_NUMBER_ID}/messages"


@pytest.fixture(autouse=True)
def _empty_outbox():
    locmem.reset()
    yield
    locmem.reset()


@pytest.fixture
def cloud(settings):
    """The real Graph API transport, talking to `responses` instead of Meta."""
    settings.WHATSAPP_TRANSPORT = {"BACKEND": "cloud", "OPTIONS": {}}
    settings.WHATSAPP_ACCESS_TOKEN = "test-token"
    settings.WHATSAPP_GRAPH_URL = "https://graph.facebook.com"
    with responses.RequestsMock() as mocked:
        yield mocked


@pytest.fixture
def conversation():
    receive(
        p.encode(
            p.envelope(
                p.value(
                    contacts=[p.contact(wa_id=p.USER_WA_ID, name="Amina")],
                    messages=[p.text_message("Hello?", wamid="wamid.IN")],
                )
            )
        )
    )
    return Conversation.objects.get()


@pytest.fixture
def pending(conversation, staff_user):
    return queue_text_reply(conversation, staff_user, "Your order has shipped")


def graph_error(code, title="Error", status=400):
    return {
        "json": {
            "error": {
                "message": f"({code}) {title}",
                "type": "OAuthException",
                "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": f"details of {code}"},
                "fbtrace_id": "AbCdEf",
            }
        },
        "status": status,
    }


def accepted(wamid="wamid.ACCEPTED"):
    return {
        "json": {
            "messaging_product": "whatsapp",
            "contacts": [{"input": p.USER_WA_ID, "wa_id": p.USER_WA_ID}],
            "messages": [{"id": wamid}],
        }
    }


def due_now(message):
    """Let time pass until the message's next attempt is due."""
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() - timedelta(1))


def run_worker():
    """What `manage.py db_worker --batch` does. It closes connections left in a transaction,
    so tests that use it commit for real (django_db(transaction=True))."""
    call_command("db_worker", "--batch", "--no-reload", stdout=io.StringIO(), stderr=io.StringIO())


def worker_thread():
    """A db_worker loop in a thread (the command itself installs signal handlers, which only
    the main thread may do)."""
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=uuid.uuid4().hex,
        excluded_queue_names=[],
    )
    try:
        worker.run()
    finally:
        connection.close()


# Success


def test_an_accepted_message_stores_the_wamid_and_moves_to_sent(cloud, pending):
    cloud.post(MESSAGES_URL, **accepted("wamid.NEW"))

    send_message.call(pending.pk)

    pending.refresh_from_db()
    assert (pending.wamid, pending.status, pending.attempts) == ("wamid.NEW", "sent", 1)
    request = cloud.calls[0].request
    assert request.headers["Authorization"] == "Bearer test-token"
    assert SendAttempt.objects.get().outcome == SendAttempt.Outcome.ACCEPTED


def test_a_sent_message_is_never_sent_again(cloud, pending):
    cloud.post(MESSAGES_URL, **accepted())

    send_message.call(pending.pk)
    send_message.call(pending.pk)

    assert len(cloud.calls) == 1


# Temporary errors: retried with growing delays, then failed


@pytest.mark.parametrize("code", [1, 2, 4, 80007, 130429, 131000, 131016, 131056])
def test_a_retryable_error_is_retried_with_growing_delays_then_fails(
    cloud, pending, settings, code
):
    settings.WHATSAPP_SEND_MAX_ATTEMPTS = 4
    cloud.post(MESSAGES_URL, **graph_error(code, "Temporarily unavailable", status=500))
    delays = []

    for _ in range(4):
        before = timezone.now()
        send_message.call(pending.pk)
        pending.refresh_from_db()
        if pending.next_attempt_at and pending.status == "pending":
            delays.append((pending.next_attempt_at - before).total_seconds())
            due_now(pending)

    assert len(cloud.calls) == 4
    assert len(delays) == 3
    assert delays == sorted(delays)
    assert delays[0] >= 2.5
    assert delays[-1] <= 5 * 2**3
    assert pending.status == "failed"
    assert pending.error_code == code
    outcomes = list(SendAttempt.objects.order_by("number").values_list("outcome", flat=True))
    assert outcomes == ["retry", "retry", "retry", "failed"]


def test_a_retry_is_queued_for_later_not_run_now(
    cloud, pending, django_capture_on_commit_callbacks
):
    cloud.post(MESSAGES_URL, **graph_error(130429, "Rate limit hit", status=429))

    with django_capture_on_commit_callbacks(execute=True):
        send_message.call(pending.pk)

    queued = DBTaskResult.objects.get(task_path="messaging.tasks.send_message")
    assert queued.run_after > timezone.now()
    send_message.call(pending.pk)  # too early: nothing happens
    assert len(cloud.calls) == 1


@pytest.mark.parametrize(
    ("code", "title"),
    [
        (100, "Invalid parameter"),
        (131008, "Required parameter is missing"),
        (131009, "Parameter value is not valid"),
        (131026, "Message undeliverable"),
        (131047, "Re-engagement message"),
        (132000, "Number of parameters does not match"),
        (132001, "Template does not exist"),
        (368, "Temporarily blocked for policies violations"),
    ],
)
def test_a_permanent_error_fails_at_once_and_shows_in_the_inbox(
    cloud, pending, staff_client, code, title
):
    cloud.post(MESSAGES_URL, **graph_error(code, title))

    send_message.call(pending.pk)

    pending.refresh_from_db()
    assert (pending.status, pending.error_code, pending.attempts) == ("failed", code, 1)
    assert pending.error_details == f"details of {code}"
    page = staff_client.get(f"/c/{pending.conversation_id}/").content.decode()
    assert f"({code})" in page
    assert "Retry" in page


# The access token


def test_an_expired_token_pauses_the_number_and_tells_staff(cloud, pending, staff_client):
    cloud.post(MESSAGES_URL, **graph_error(190, "Error validating access token", status=401))

    send_message.call(pending.pk)

    number = BusinessNumber.objects.get()
    pending.refresh_from_db()
    assert number.sending_paused_at is not None
    assert "190" in number.paused_reason
    assert (pending.status, pending.claimed_at) == ("pending", None)
    assert "Sending from" in staff_client.get("/").content.decode()
    send_message.call(pending.pk)
    assert len(cloud.calls) == 1  # nothing more is tried while paused


@pytest.mark.django_db(transaction=True)
def test_resuming_sends_what_waited(cloud, pending, django_capture_on_commit_callbacks):
    cloud.post(MESSAGES_URL, **graph_error(190, "Error validating access token", status=401))
    send_message.call(pending.pk)
    cloud.replace(responses.POST, MESSAGES_URL, **accepted("wamid.LATER"))

    with django_capture_on_commit_callbacks(execute=True):
        assert resume_sending(BusinessNumber.objects.get()) == 1
    run_worker()

    pending.refresh_from_db()
    assert pending.wamid == "wamid.LATER"
    assert BusinessNumber.objects.get().sending_paused_at is None


# Ambiguity: a read timeout


def test_a_read_timeout_makes_exactly_one_post_and_leaves_the_message_unconfirmed(cloud, pending):
    cloud.post(MESSAGES_URL, body=requests.ReadTimeout("slow"))

    send_message.call(pending.pk)
    send_message.call(pending.pk)
    sweep_outbox(now=timezone.now() + timedelta(hours=1))

    assert len(cloud.calls) == 1
    pending.refresh_from_db()
    assert pending.status == "unknown"
    assert SendAttempt.objects.get().outcome == SendAttempt.Outcome.UNKNOWN


def test_a_status_webhook_settles_an_unconfirmed_message_through_its_callback_data(cloud, pending):
    cloud.post(MESSAGES_URL, body=requests.ReadTimeout("slow"))
    send_message.call(pending.pk)
    callback = cloud.calls[0].request.body
    assert f'"biz_opaque_callback_data": "waq:{pending.pk}"'.encode() in callback

    status = p.status("wamid.REAL", "delivered")
    status["biz_opaque_callback_data"] = f"waq:{pending.pk}"
    receive(p.encode(p.envelope(p.value(statuses=[status]))))

    pending.refresh_from_db()
    assert (pending.wamid, pending.status) == ("wamid.REAL", "delivered")


def test_a_connect_timeout_is_retried(cloud, pending):
    cloud.post(MESSAGES_URL, body=requests.ConnectTimeout("no route"))

    send_message.call(pending.pk)

    pending.refresh_from_db()
    assert (pending.status, pending.next_attempt_at is not None) == ("pending", True)


# Transactions and concurrency


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_reply_makes_no_graph_api_call(conversation, staff_user):
    def reply_then_fail():
        with transaction.atomic():
            queue_text_reply(conversation, staff_user, "never")
            raise RuntimeError("something later in the same request failed")

    with pytest.raises(RuntimeError):
        reply_then_fail()

    run_worker()

    assert locmem.outbox == []
    assert not Message.objects.filter(direction="out").exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_over_200_pending_messages_send_each_exactly_once(
    conversation, staff_user
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises workers, so nothing races")
    for i in range(200):
        queue_text_reply(conversation, staff_user, f"message {i}", client_token=uuid.uuid4())
    # Each message is also queued twice, as if a sweep re-queued it: claiming must cope.
    for pk in Message.objects.filter(direction="out").values_list("pk", flat=True):
        send_message.enqueue(pk)

    threads = [threading.Thread(target=worker_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    bodies = [payload["text"]["body"] for _, payload in locmem.outbox]
    assert len(bodies) == 200
    assert len(set(bodies)) == 200
    assert SendAttempt.objects.count() == 200
    assert not Message.objects.filter(direction="out", wamid__isnull=True).exists()


# Retry by staff


@pytest.mark.django_db(transaction=True)
def test_retry_sends_a_failed_message_once_more_and_audits_who_asked(
    pending, staff_user, django_capture_on_commit_callbacks
):
    locmem.failures.append(SendError("Message undeliverable", code=131026))
    run_worker()
    pending.refresh_from_db()
    assert pending.status == "failed"

    with django_capture_on_commit_callbacks(execute=True):
        assert retry_message(pending, staff_user)
        assert not retry_message(pending, staff_user)  # a second click finds it pending
    run_worker()

    pending.refresh_from_db()
    assert pending.status == "sent"
    assert len(locmem.outbox) == 1
    attempts = list(SendAttempt.objects.order_by("number").values_list("number", "requested_by"))
    assert attempts == [(1, None), (2, staff_user.pk)]


# The safety net


def test_a_worker_that_died_mid_send_leaves_an_unconfirmed_message_not_a_duplicate(pending):
    Message.objects.filter(pk=pending.pk).update(
        claimed_at=timezone.now() - timedelta(hours=1), attempts=1
    )

    abandoned, requeued = sweep_outbox()

    pending.refresh_from_db()
    assert (abandoned, requeued, pending.status) == (1, 0, "unknown")
    send_message.call(pending.pk)
    assert locmem.outbox == []


@pytest.mark.django_db(transaction=True)
def test_a_pending_message_whose_task_was_lost_is_queued_again(pending):
    Message.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(hours=1))

    assert sweep_outbox() == (0, 1)
    run_worker()

    pending.refresh_from_db()
    assert pending.status == "sent"


@pytest.mark.django_db(transaction=True)
def test_a_message_waiting_for_a_worker_is_sent_when_one_starts(
    conversation, staff_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = queue_text_reply(conversation, staff_user, "sent later")
    assert locmem.outbox == []  # no worker yet

    run_worker()

    message.refresh_from_db()
    assert message.status == "sent"
    assert len(locmem.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_starting_a_worker_schedules_the_maintenance_run(conversation):
    run_worker()

    waiting = DBTaskResult.objects.filter(task_path="messaging.maintenance.run_maintenance")
    assert waiting.filter(status="READY").count() == 1
    assert waiting.filter(status="SUCCESSFUL").count() == 1
    run_worker()
    assert waiting.filter(status="READY").count() == 1  # still one chain, not two


# Pacing


def test_sending_slots_are_spaced_by_the_configured_rate(settings, conversation):
    from messaging.tasks import reserve_send_slot

    settings.WHATSAPP_SEND_RATE_PER_SECOND = 10
    number = BusinessNumber.objects.get()

    waits = [reserve_send_slot(number) for _ in range(5)]

    assert waits[0] == pytest.approx(0, abs=0.05)
    assert waits == sorted(waits)
    assert waits[4] == pytest.approx(0.4, abs=0.05)


def test_a_backlog_beyond_a_short_wait_is_queued_for_its_turn_not_slept_through(
    settings, pending, django_capture_on_commit_callbacks
):
    settings.WHATSAPP_SEND_RATE_PER_SECOND = 1
    BusinessNumber.objects.update(next_send_slot=timezone.now() + timedelta(seconds=30))

    send_message.call(pending.pk)

    pending.refresh_from_db()
    assert (pending.status, pending.attempts, pending.claimed_at) == ("pending", 0, None)
    assert pending.next_attempt_at > timezone.now() + timedelta(seconds=25)
    assert locmem.outbox == []
    queued = DBTaskResult.objects.filter(task_path="messaging.tasks.send_message")
    assert queued.filter(run_after__gt=timezone.now() + timedelta(seconds=25)).exists()
