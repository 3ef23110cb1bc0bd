"""messaging.tasks: the outbox from pending row to Meta, with retries, pauses and recovery."""

import html
import io
import random
import threading
import uuid
from datetime import timedelta

import pytest
import requests
import responses
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from messaging import payloads as p
from messaging.backends import locmem
from messaging.backends.base import SendError
from messaging.ingest import receive
from messaging.media import queue_media_message
from messaging.models import (
    UNCONFIRMED_SEND_AGAIN_AFTER,
    BusinessNumber,
    InboxChange,
    Message,
    SendAttempt,
    StatusEvent,
)
from messaging.sending import queue_outbound, queue_text_reply
from messaging.tasks import (
    backoff,
    claim,
    reserve_send_slot,
    resume_sending,
    retry_message,
    send_message,
    send_read_receipt,
    sweep_outbox,
)
from privacy.models import AuditEvent
from tests import media_files as f

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.facebook.com/v23.0"
MESSAGES_URL = f"{GRAPH}/{p.PHONE_NUMBER_ID}/messages"


@pytest.fixture
def pending(conversation, staff_user):
    return queue_text_reply(conversation, staff_user, "Your order has shipped")


def graph_error(code, title="Error", status=400):
    """Meta's error response: the code leads the message, as in "(#131026) Message
    undeliverable"."""
    return {
        "json": {
            "error": {
                "message": f"(#{code}) {title}",
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


def report(wamid, status, *, message=None, errors=None):
    """A status webhook from Meta about `wamid`, carrying our callback data as Meta echoes it."""
    item = p.status(wamid, status, errors=errors)
    if message is not None:
        item["biz_opaque_callback_data"] = f"waq:{message.pk}"
    receive(p.encode(p.envelope(p.value(statuses=[item]))))


def due_now(message):
    """Let time pass until the message's next attempt (and the task queued for it) is due."""
    past = timezone.now() - timedelta(1)
    Message.objects.filter(pk=message.pk).update(next_attempt_at=past)
    DBTaskResult.objects.filter(task_path="messaging.tasks.send_message", status="READY").update(
        run_after=past
    )


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


def test_retry_delays_are_jittered_within_half_to_all_of_the_growing_ceiling(settings):
    settings.WHATSAPP_RETRY_BASE_SECONDS = 5
    rng = random.Random(20260101)

    for attempt, ceiling in [(1, 5), (2, 10), (3, 20), (12, 15 * 60)]:
        delays = [backoff(attempt, rng).total_seconds() for _ in range(500)]

        assert ceiling / 2 <= min(delays) < max(delays) <= ceiling
        # Spread over the whole range, not bunched: a fixed delay would give one value.
        assert max(delays) - min(delays) > 0.9 * ceiling / 2
        assert len(set(delays)) == 500


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
    assert (pending.error_title, pending.error_details) == (title, f"details of {code}")
    page = staff_client.get(f"/c/{pending.conversation_id}/").content.decode()
    failure = page[page.index(f'id="m-{pending.pk}"') :]
    failure = failure[: failure.index("</article>")]
    assert f"<p><strong>{html.escape(title)}</strong> ({code})</p>" in failure
    assert f"<p>details of {code}</p>" in failure
    assert ">Retry</button>" in failure


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


@pytest.mark.django_db(transaction=True)
def test_the_admins_resume_action_unpauses_the_number_and_sends_what_waited(
    cloud, pending, client, django_user_model
):
    cloud.post(MESSAGES_URL, **graph_error(190, "Error validating access token", status=401))
    send_message.call(pending.pk)
    cloud.replace(responses.POST, MESSAGES_URL, **accepted("wamid.RESUMED"))
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "x" * 20)
    client.force_login(admin)
    number = BusinessNumber.objects.get()

    response = client.post(
        "/admin/messaging/businessnumber/",
        {"action": "resume_sending", "_selected_action": [number.pk]},
        follow=True,
    )
    run_worker()

    assert "Sending resumed; 1 waiting message queued again." in response.content.decode()
    number.refresh_from_db()
    assert (number.sending_paused_at, number.paused_reason) == (None, "")
    pending.refresh_from_db()
    assert (pending.wamid, pending.status) == ("wamid.RESUMED", "sent")
    assert len(cloud.calls) == 2


def test_an_expired_token_on_a_read_receipt_pauses_sending_too(cloud, conversation, staff_client):
    cloud.post(MESSAGES_URL, **graph_error(190, "Error validating access token", status=401))

    send_read_receipt.call(Message.objects.get(wamid="wamid.IN").pk)

    number = BusinessNumber.objects.get()
    assert number.sending_paused_at is not None
    assert "190" in number.paused_reason
    assert "Sending from" in staff_client.get("/").content.decode()


def test_other_read_receipt_errors_leave_sending_alone(cloud, conversation):
    cloud.post(MESSAGES_URL, **graph_error(131000, "Something went wrong", status=500))

    send_read_receipt.call(Message.objects.get(wamid="wamid.IN").pk)

    assert BusinessNumber.objects.get().sending_paused_at is None
    assert len(cloud.calls) == 1  # and not retried


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


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ChunkedEncodingError("the answer broke off"),
        requests.ConnectionError("Connection aborted."),
        RuntimeError("a transport fault of its own"),
    ],
)
def test_a_connection_that_broke_after_the_request_left_is_unconfirmed_and_never_resent(
    cloud, pending, failure
):
    cloud.post(MESSAGES_URL, body=failure)

    send_message.call(pending.pk)
    send_message.call(pending.pk)
    sweep_outbox(now=timezone.now() + timedelta(hours=1))

    assert len(cloud.calls) == 1
    pending.refresh_from_db()
    assert (pending.status, pending.claimed_at) == ("unknown", None)
    assert SendAttempt.objects.get().outcome == SendAttempt.Outcome.UNKNOWN


def test_a_request_that_could_not_be_built_fails_at_once_and_sends_nothing(
    cloud, conversation, staff_user, staff_client
):
    # Nothing in the inbox builds a Cloud API body for an outbound location (yet).
    message = queue_outbound(conversation, staff_user, type="location", data={"latitude": 1})

    send_message.call(message.pk)

    assert len(cloud.calls) == 0
    message.refresh_from_db()
    assert (message.status, message.claimed_at) == ("failed", None)
    assert message.error_title == "The inbox could not prepare this message (ValueError)"
    assert SendAttempt.objects.get().outcome == SendAttempt.Outcome.FAILED
    page = staff_client.get(f"/c/{conversation.pk}/").content.decode()
    assert "The inbox could not prepare this message (ValueError)" in page


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


def needs_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises workers, so nothing races")


@pytest.mark.pgbouncer
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_over_200_pending_messages_send_each_exactly_once(
    conversation, staff_user
):
    needs_postgresql()
    for i in range(200):
        queue_text_reply(conversation, staff_user, f"message {i}", client_token=uuid.uuid4())
    # Each message's first task is queued as the reply commits. A second one right behind it
    # (as if a sweep re-queued it) puts the two tasks next to each other in the queue: the
    # two workers take them at the same moment and race to claim the same message.
    DBTaskResult.objects.filter(task_path="messaging.tasks.send_message").delete()
    for pk in Message.objects.filter(direction="out").order_by("pk").values_list("pk", flat=True):
        send_message.enqueue(pk)
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


@pytest.mark.pgbouncer
@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_the_same_message_at_the_same_instant_get_it_once(
    conversation, staff_user
):
    needs_postgresql()
    messages = [
        queue_text_reply(conversation, staff_user, f"message {i}", client_token=uuid.uuid4())
        for i in range(50)
    ]
    barrier = threading.Barrier(2)
    claimed = []

    def contend():
        try:
            for message in messages:
                barrier.wait(timeout=10)
                if claim(message.pk) is not None:
                    claimed.append(message.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=contend) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(claimed) == [message.pk for message in messages]


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
    audit = AuditEvent.objects.get(action="retry")
    assert (audit.actor, audit.object_type, audit.object_id) == (
        staff_user,
        "messaging.conversation",
        str(pending.conversation_id),
    )
    assert audit.details == {"message": pending.pk, "type": "text", "was": "failed"}


@pytest.mark.django_db(transaction=True)
def test_retry_after_a_failure_reported_by_webhook_sends_exactly_once_more(
    pending, staff_user, django_capture_on_commit_callbacks
):
    run_worker()  # Meta accepts it…
    pending.refresh_from_db()
    first = pending.wamid
    # …and reports later that it could not deliver it.
    report(first, "failed", message=pending, errors=[p.error(131026, "Message undeliverable")])
    pending.refresh_from_db()
    assert (pending.status, pending.error_code) == ("failed", 131026)

    with django_capture_on_commit_callbacks(execute=True):
        assert retry_message(pending, staff_user)
    run_worker()

    assert len(locmem.outbox) == 2
    pending.refresh_from_db()
    assert pending.status == "sent"
    assert pending.wamid not in {None, first}
    history = list(SendAttempt.objects.order_by("number").values_list("wamid", "outcome"))
    assert history == [(first, "accepted"), (pending.wamid, "accepted")]


@pytest.mark.django_db(transaction=True)
def test_late_statuses_of_the_failed_attempt_stay_in_its_history(
    pending, staff_user, django_capture_on_commit_callbacks
):
    run_worker()
    pending.refresh_from_db()
    first = pending.wamid
    report(first, "failed", message=pending, errors=[p.error(131026, "Message undeliverable")])
    with django_capture_on_commit_callbacks(execute=True):
        retry_message(pending, staff_user)
    run_worker()

    report(first, "delivered", message=pending)  # unordered: older news about attempt 1

    pending.refresh_from_db()
    assert pending.status == "sent"  # the new attempt's own tick, not moved by the old one
    late = StatusEvent.objects.get(wamid=first, status="delivered")
    assert SendAttempt.objects.filter(message=pending, wamid=late.wamid, number=1).exists()


@pytest.mark.django_db(transaction=True)
def test_a_late_status_of_the_failed_attempt_before_the_retry_is_sent_does_not_stop_it(
    pending, staff_user, django_capture_on_commit_callbacks
):
    run_worker()
    pending.refresh_from_db()
    first = pending.wamid
    report(first, "failed", message=pending, errors=[p.error(131026, "Message undeliverable")])
    with django_capture_on_commit_callbacks(execute=True):
        retry_message(pending, staff_user)

    report(first, "sent", message=pending)  # older news about attempt 1, before the worker

    pending.refresh_from_db()
    assert (pending.status, pending.wamid) == ("pending", None)
    run_worker()
    assert len(locmem.outbox) == 2
    pending.refresh_from_db()
    assert pending.status == "sent"
    assert pending.wamid not in {None, first}


def test_a_failed_message_from_before_attempts_were_recorded_can_be_retried(
    conversation, staff_user
):
    old = Message.objects.create(
        conversation=conversation,
        direction="out",
        type="text",
        text="From the demo data",
        timestamp=timezone.now(),
        status="failed",
        wamid="wamid.OLD",
        error_code=131026,
    )

    assert retry_message(old, staff_user)
    send_message.call(old.pk, requested_by=staff_user.pk)

    old.refresh_from_db()
    assert old.status == "sent"
    history = list(old.send_attempts.order_by("number").values_list("number", "wamid"))
    assert history == [(1, "wamid.OLD"), (2, old.wamid)]


@pytest.mark.django_db(transaction=True)
def test_a_retry_gets_the_full_budget_of_automatic_retries_again(
    pending, staff_user, settings, django_capture_on_commit_callbacks
):
    settings.WHATSAPP_SEND_MAX_ATTEMPTS = 2
    for _ in range(3):
        locmem.failures.append(SendError("Rate limit hit", code=130429, retryable=True))
    run_worker()
    due_now(pending)
    run_worker()
    pending.refresh_from_db()
    assert (pending.status, pending.attempts) == ("failed", 2)

    with django_capture_on_commit_callbacks(execute=True):
        retry_message(pending, staff_user)
    run_worker()  # attempt 3 fails again: retried later, not failed at once
    pending.refresh_from_db()
    assert (pending.status, pending.attempts) == ("pending", 3)
    due_now(pending)
    run_worker()

    pending.refresh_from_db()
    assert (pending.status, pending.attempts) == ("sent", 4)


def unconfirmed(cloud, pending):
    """A reply whose request timed out: Meta may or may not have it."""
    cloud.post(MESSAGES_URL, body=requests.ReadTimeout("slow"))
    send_message.call(pending.pk)
    pending.refresh_from_db()
    assert pending.status == "unknown"
    return pending.status_at


def test_an_unconfirmed_message_can_be_sent_again_only_after_a_quiet_while(
    cloud, pending, staff_user
):
    since = unconfirmed(cloud, pending)
    cloud.replace(responses.POST, MESSAGES_URL, **accepted("wamid.AGAIN"))

    too_soon = since + UNCONFIRMED_SEND_AGAIN_AFTER - timedelta(minutes=1)
    assert not retry_message(pending, staff_user, now=too_soon)
    assert retry_message(pending, staff_user, now=since + UNCONFIRMED_SEND_AGAIN_AFTER)
    send_message.call(pending.pk, requested_by=staff_user.pk)

    assert len(cloud.calls) == 2
    pending.refresh_from_db()
    assert (pending.status, pending.wamid) == ("sent", "wamid.AGAIN")
    audit = AuditEvent.objects.get(action="retry")
    assert audit.details["was"] == "unknown"


def test_the_inbox_offers_send_again_for_an_unconfirmed_message_only_after_the_wait(
    cloud, pending, staff_client
):
    since = unconfirmed(cloud, pending)
    url = f"/c/{pending.conversation_id}/"

    assert "Send again" not in staff_client.get(url).content.decode()

    Message.objects.filter(pk=pending.pk).update(
        status_at=since - UNCONFIRMED_SEND_AGAIN_AFTER - timedelta(seconds=1)
    )
    page = staff_client.get(url).content.decode()
    assert ">Send again</button>" in page
    assert "the customer receives it twice" in page  # the risk, before the choice
    assert 'hx-confirm="Send this message again?' in page


def test_a_sweep_announces_an_unconfirmed_message_once_it_may_be_sent_again(
    cloud, pending, settings
):
    since = unconfirmed(cloud, pending)
    changes = InboxChange.objects.filter(message=pending)
    before = changes.count()

    sweep_outbox(now=since + timedelta(minutes=1))
    assert changes.count() == before  # not yet eligible: nothing to re-render
    sweep_outbox(now=since + UNCONFIRMED_SEND_AGAIN_AFTER + timedelta(seconds=30))
    assert changes.count() == before + 1
    sweep_outbox(now=since + UNCONFIRMED_SEND_AGAIN_AFTER + timedelta(hours=1))
    assert changes.count() == before + 1  # long eligible: not announced every minute


@pytest.mark.django_db(transaction=True)
def test_an_attachment_that_failed_for_good_is_deleted_and_the_inbox_says_so(
    conversation, staff_user, staff_client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    message = queue_media_message(
        conversation, staff_user, uploaded("photo.png", f.png(), "image/png")
    )
    path = message.data["upload"]
    assert default_storage.exists(path)
    locmem.failures.append(SendError("Media upload error", code=131053))

    run_worker()

    message.refresh_from_db()
    assert message.status == "failed"
    assert not default_storage.exists(path)
    assert "upload" not in message.data
    page = staff_client.get(f"/c/{conversation.pk}/").content.decode()
    assert "The file is no longer kept: attach it again to send it." in page
    assert f"/m/{message.pk}/retry/" not in page


def uploaded(name, content, mime_type):
    file = ContentFile(content, name=name)
    file.content_type = mime_type
    return file


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
    DBTaskResult.objects.all().delete()  # the queue lost it

    assert sweep_outbox() == (0, 1)
    run_worker()

    pending.refresh_from_db()
    assert pending.status == "sent"


def test_a_backlog_longer_than_the_lease_is_not_queued_again_every_sweep(pending):
    Message.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(hours=1))
    send_message.enqueue(pending.pk)  # its task, waiting for its turn behind the backlog
    queued = DBTaskResult.objects.filter(task_path="messaging.tasks.send_message")

    for minute in range(3):
        assert sweep_outbox(now=timezone.now() + timedelta(minutes=minute)) == (0, 0)

    assert queued.count() == 1
    queued.update(status="SUCCESSFUL")  # it ran, yet the message is still pending: lost
    assert sweep_outbox() == (0, 1)
    assert queued.filter(status="READY").count() == 1


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
    settings.WHATSAPP_SEND_RATE_PER_SECOND = 10
    number = BusinessNumber.objects.get()
    now = timezone.now()

    waits = [reserve_send_slot(number, now=now) for _ in range(5)]
    later = reserve_send_slot(number, now=now + timedelta(seconds=0.2))

    assert waits == pytest.approx([0, 0.1, 0.2, 0.3, 0.4])
    assert later == pytest.approx(0.3)  # the queue moved on by the time that passed
    # An idle number's next slot is now, not in the past.
    assert reserve_send_slot(number, now=now + timedelta(seconds=60)) == 0


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
