"""The demo transport end to end: a reply's tick goes pending → sent → delivered → read, with
the console backend's simulated statuses arriving through the real status path."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from playwright.sync_api import expect

from messaging import payloads as p
from messaging.backends import locmem
from messaging.backends.base import SendError
from messaging.models import UNCONFIRMED_SEND_AGAIN_AFTER, Message
from messaging.tasks import sweep_outbox
from privacy.models import AuditEvent
from tests.live_support import database, post_webhook_over_http

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE = 3000  # the poll runs every 2 s: anything new must show within 3 s
SLOW = 10_000


def run_worker():
    with database():
        call_command(
            "db_worker",
            "--batch",
            "--no-reload",
            "--no-startup-delay",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )


def make_next_status_due():
    """Let the seconds pass before the console transport's next simulated status."""
    with database():
        waiting = DBTaskResult.objects.filter(
            task_path="messaging.tasks.simulate_status", status="READY"
        ).order_by("run_after")
        first = waiting.first()
        assert first is not None
        DBTaskResult.objects.filter(pk=first.pk).update(
            run_after=timezone.now() - timedelta(seconds=1)
        )


def test_a_reply_ticks_from_pending_to_read_with_the_console_transport(
    page, page_errors, staff_user, password, live_server, settings
):
    # Statuses an hour apart from acceptance: each comes when the test lets it, never by
    # itself during a slow worker run.
    settings.WHATSAPP_TRANSPORT = {
        "BACKEND": "messaging.backends.console.ConsoleBackend",
        "OPTIONS": {"stream": io.StringIO(), "status_delays": (3600, 3601, 3602)},
    }
    post_webhook_over_http(
        live_server,
        p.envelope(
            p.value(
                contacts=[p.contact(wa_id="966501234567", name="Amina Khalid")],
                messages=[p.text_message("Is my order on its way?", sender="966501234567")],
            )
        ),
    )
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("amina")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Amina Khalid").click()
    expect(page.locator("html.js")).to_be_attached(timeout=SLOW)

    textarea = page.get_by_role("textbox", name="Reply")
    textarea.fill("Yes, it ships today.")
    textarea.press("Enter")
    reply = page.locator("#timeline article.msg-out", has_text="Yes, it ships today.")
    expect(reply.locator(".tick-pending")).to_be_visible(timeout=LIVE)

    run_worker()  # the transport accepts it
    expect(reply.locator(".tick-sent")).to_be_visible(timeout=LIVE)

    for tick in ("tick-sent", "tick-delivered", "tick-read"):
        make_next_status_due()
        run_worker()
        expect(reply.locator(f".{tick}")).to_be_visible(timeout=LIVE)

    assert page_errors == []


def sign_in_and_open(page, password):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("amina")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Amina Khalid").click()
    expect(page.locator("html.js")).to_be_attached(timeout=SLOW)


def test_retry_and_send_again_really_send_and_say_what_they_risk(
    page, page_errors, staff_user, password, live_server, settings
):
    settings.WHATSAPP_TRANSPORT = {"BACKEND": "locmem", "OPTIONS": {}}
    settings.WHATSAPP_READ_RECEIPTS = False  # the failures queued below are the reply's
    locmem.reset()
    post_webhook_over_http(
        live_server,
        p.envelope(
            p.value(
                contacts=[p.contact(wa_id="966501234567", name="Amina Khalid")],
                messages=[p.text_message("Is my order on its way?", sender="966501234567")],
            )
        ),
    )
    locmem.failures += [
        SendError("Message undeliverable", code=131026, details="The number is not on WhatsApp"),
        SendError("The Graph API did not answer in time", ambiguous=True),
    ]
    sign_in_and_open(page, password)
    textarea = page.get_by_role("textbox", name="Reply")
    textarea.fill("Yes, it ships today.")
    textarea.press("Enter")
    reply = page.locator("#timeline article.msg-out", has_text="Yes, it ships today.")
    expect(reply.locator(".tick-pending")).to_be_visible(timeout=LIVE)

    run_worker()  # Meta refuses it for good
    expect(reply.locator(".tick-failed")).to_be_visible(timeout=LIVE)
    reply.locator(".tick-failed summary").click()
    expect(reply.locator(".tick-failed")).to_contain_text("Message undeliverable (131026)")
    expect(reply.locator(".tick-failed")).to_contain_text("The number is not on WhatsApp")
    reply.get_by_role("button", name="Retry").click()
    expect(reply.locator(".tick-pending")).to_be_visible(timeout=LIVE)

    run_worker()  # this time the request times out: sent or not, nobody knows
    unknown = reply.locator(".tick-unknown")
    expect(unknown).to_be_visible(timeout=LIVE)
    unknown.locator("summary").click()
    expect(unknown).to_contain_text("you can choose to send it again")
    expect(unknown.get_by_role("button", name="Send again")).to_have_count(0)
    with database():
        message = Message.objects.get(direction="out")
        Message.objects.filter(pk=message.pk).update(
            status_at=timezone.now() - UNCONFIRMED_SEND_AGAIN_AFTER - timedelta(minutes=1)
        )
        sweep_outbox()  # announces it: the open page offers "Send again" without a reload
    expect(unknown.locator("button", has_text="Send again")).to_have_count(1, timeout=LIVE)
    unknown.locator("summary").click()  # the message was drawn afresh, its details closed
    expect(unknown).to_contain_text("the customer receives it twice")
    dialogs = []

    def confirm(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", confirm)
    unknown.get_by_role("button", name="Send again").click()
    expect(reply.locator(".tick-pending")).to_be_visible(timeout=LIVE)
    assert "the customer receives it twice" in dialogs[0]

    run_worker()
    expect(reply.locator(".tick-sent")).to_be_visible(timeout=LIVE)
    assert [payload["text"]["body"] for _, payload in locmem.outbox] == ["Yes, it ships today."]
    with database():
        assert list(
            AuditEvent.objects.filter(action="retry").values_list("details__was", flat=True)
        ) == ["unknown", "failed"]
    assert page_errors == []
    locmem.reset()
