"""Reading a conversation in a real browser: the page, once someone looks at it, posts that it
was read (inbox:read); opening its URL alone (a link, a background tab, a browser without
JavaScript) reads nothing and sends the customer no read receipt."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from messaging.backends import locmem
from messaging.models import Conversation, Message
from tests.browser_support import (
    AMINA,
    SLOW,
    deliver_text,
    open_conversation,
    row,
    scripts_ready,
    sign_in,
)
from tests.live_support import close_browser_context, database

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE = 3000  # what the server learns shows within 3 s (a poll every second here)

JOHN = "447700900123"

# Makes a page believe it is in a background tab (or in front again), from before its
# scripts run when given to add_init_script.
HIDE_TAB = """hidden => {
    Object.defineProperty(document, "visibilityState", {
        configurable: true, get: () => (hidden ? "hidden" : "visible"),
    });
    document.dispatchEvent(new Event("visibilitychange"));
}"""


def hide_tab(page, hidden):
    page.evaluate(HIDE_TAB, hidden)


def unread_count(sender=AMINA):
    with database():
        return Conversation.objects.get(contact__wa_id=sender).unread_count


def conversation_path(sender=AMINA):
    with database():
        return f"/c/{Conversation.objects.get(contact__wa_id=sender).pk}/"


def run_worker():
    with database():
        call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", verbosity=0)


def receipts():
    """The wamids of the read receipts sent so far, in order."""
    run_worker()
    return [sent["message_id"] for _, sent in locmem.outbox if sent.get("status") == "read"]


def wamid_of(text):
    with database():
        return Message.objects.get(text=text).wamid


@pytest.fixture
def context_for(browser, live_server, page_errors, live_settings, serialised_live_server):
    """Pages in browser contexts of their own (without JavaScript, say), closed after the
    test; like `page`, their errors go to page_errors."""
    contexts = []

    def new_context(**options):
        contexts.append(browser.new_context(base_url=live_server.url, locale="en-GB", **options))
        page = contexts[-1].new_page()
        page.on("console", lambda msg: msg.type == "error" and page_errors.append(msg.text))
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        page.on("response", lambda r: r.status >= 400 and page_errors.append(f"{r.status} {r.url}"))
        return page

    yield new_context
    for context in contexts:
        close_browser_context(context)


def test_opening_a_conversation_reads_it_for_the_list_the_title_and_the_customer(
    page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "Salaam, one question")
    deliver_text(live_server, "Are you open on Friday?")
    deliver_text(live_server, "Do you ship to the UK?", sender=JOHN, name="John Carter")
    sign_in(page, password)
    expect(row(page, "Amina Khalid").locator(".badge")).to_have_text("2")

    open_conversation(page, "Amina Khalid")

    expect(row(page, "Amina Khalid").locator(".badge")).to_have_count(0, timeout=LIVE)
    expect(row(page, "Amina Khalid")).not_to_have_class(re.compile(r"\bis-unread\b"))
    expect(page).to_have_title("(1) Amina Khalid · WABA Al Qalam")
    page.locator(".more-menu > summary").click()  # Mark unread waits in the menu
    expect(page.get_by_role("button", name="Mark unread")).to_be_visible()
    assert unread_count() == 0
    assert receipts() == [wamid_of("Are you open on Friday?")]  # the newest covers the rest

    page.reload()
    scripts_ready(page)
    expect(row(page, "Amina Khalid").locator(".badge")).to_have_count(0)
    assert receipts() == [wamid_of("Are you open on Friday?")]  # read already: no second one
    assert page_errors == []


def test_opening_a_conversation_without_javascript_reads_it_only_with_mark_read(
    context_for, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "Salaam, one question")
    page = context_for(java_script_enabled=False)
    sign_in(page, password, javascript=False)

    page.goto(conversation_path())  # as a link followed from anywhere would

    expect(page.locator("#conversation-header h2")).to_have_text("Amina Khalid")
    assert unread_count() == 1
    assert receipts() == []

    page.locator(".more-menu > summary").click()  # a <details>: it opens without JavaScript
    page.get_by_role("button", name="Mark read").click()

    expect(page.locator("#conversation-header h2")).to_have_text("Amina Khalid", timeout=SLOW)
    page.locator(".more-menu > summary").click()
    expect(page.get_by_role("button", name="Mark unread")).to_be_visible()
    expect(row(page, "Amina Khalid").locator(".badge")).to_have_count(0)
    assert unread_count() == 0
    assert receipts() == [wamid_of("Salaam, one question")]
    assert page_errors == []


def test_a_conversation_opened_in_a_background_tab_is_read_when_it_is_looked_at(
    context_for, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "Salaam, one question")
    page = context_for()
    sign_in(page, password)
    page.add_init_script(f"({HIDE_TAB})(true)")

    page.goto(conversation_path())
    scripts_ready(page)

    expect(page.locator("#timeline article.msg")).to_have_count(1)
    expect(row(page, "Amina Khalid").locator(".badge")).to_have_text("1")
    assert unread_count() == 1

    hide_tab(page, False)

    expect(row(page, "Amina Khalid").locator(".badge")).to_have_count(0, timeout=LIVE)
    assert unread_count() == 0
    assert receipts() == [wamid_of("Salaam, one question")]
    assert page_errors == []


def test_messages_that_came_while_the_tab_was_hidden_are_read_when_it_is_looked_at(
    page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "Salaam, one question")
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    expect(row(page, "Amina Khalid").locator(".badge")).to_have_count(0, timeout=LIVE)
    hide_tab(page, True)

    deliver_text(live_server, "Are you there?")

    expect(page.locator("#timeline article.msg", has_text="Are you there?")).to_be_visible(
        timeout=LIVE
    )
    expect(row(page, "Amina Khalid").locator(".badge")).to_have_text("1")
    assert unread_count() == 1

    hide_tab(page, False)

    expect(row(page, "Amina Khalid").locator(".badge")).to_have_count(0, timeout=LIVE)
    assert unread_count() == 0
    # On opening, then now.
    assert receipts() == [wamid_of("Salaam, one question"), wamid_of("Are you there?")]
    assert page_errors == []


def test_a_new_message_in_the_open_conversation_is_read_at_once(
    page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "Salaam, one question")
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    expect(row(page, "Amina Khalid").locator(".badge")).to_have_count(0, timeout=LIVE)

    deliver_text(live_server, "Are you there?")

    expect(page.locator("#timeline article.msg", has_text="Are you there?")).to_be_visible(
        timeout=LIVE
    )
    expect(row(page, "Amina Khalid").locator(".badge")).to_have_count(0, timeout=LIVE)
    expect(page).to_have_title("Amina Khalid · WABA Al Qalam")
    assert unread_count() == 0
    assert receipts() == [wamid_of("Salaam, one question"), wamid_of("Are you there?")]
    assert page_errors == []
