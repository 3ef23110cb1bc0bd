"""Teamwork in a real browser: the quick-reply picker, internal notes and label filters, with
customers' messages arriving as signed webhooks posted to the live server."""

import re

import pytest
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import expect

from automation.models import Label, Note, QuickReply, QuickReplyText
from messaging.backends import locmem
from messaging.models import Message
from tests.browser_support import SLOW, deliver_text, open_conversation, row, sign_in
from tests.live_support import database
from tests.staff_support import grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE = 3000  # the poll runs every 2 s: anything new must show within 3 s

JOHN = "447700900123"


@pytest.fixture
def agent(staff_user):
    """An agent who may label conversations and write notes."""
    with database():
        return grant(staff_user, "apply_label", "add_note")


def run_worker():
    with database():
        call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", verbosity=0)


def whatsapp_messages_sent():
    """What the WhatsApp transport was asked to send, read receipts aside."""
    return [payload for _, payload in locmem.outbox if payload.get("type")]


def test_slash_opens_the_quick_reply_picker_and_enter_inserts_the_filled_in_answer(
    page, page_errors, staff_user, password, live_server
):
    with database():
        hours = QuickReply.objects.create(shortcut="hours", title="Opening hours")
        QuickReplyText.objects.create(
            quick_reply=hours, language="en", text="Hi {first_name}, {agent} here: we open at 9."
        )
        thanks = QuickReply.objects.create(shortcut="thanks", title="Thank you")
        QuickReplyText.objects.create(quick_reply=thanks, language="en", text="Thank you, {name}!")
    deliver_text(live_server, "When do you open?")
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    textarea = page.get_by_role("textbox", name="Reply")
    picker = page.get_by_role("listbox", name="Quick replies")

    textarea.click()
    page.keyboard.type("/")
    expect(picker).to_be_visible()
    expect(picker.get_by_role("option")).to_have_count(2)
    page.keyboard.type("th")
    expect(picker.get_by_role("option")).to_have_count(1)
    expect(picker.get_by_role("option", selected=True)).to_contain_text("/thanks")
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    expect(textarea).to_have_value("/th")

    textarea.fill("")
    page.keyboard.type("/")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # wraps round to the first
    expect(picker.get_by_role("option", selected=True)).to_contain_text("/hours")
    option_id = picker.get_by_role("option", selected=True).get_attribute("id")
    expect(textarea).to_have_attribute("aria-activedescendant", option_id)
    page.keyboard.press("Enter")

    expect(picker).to_be_hidden()
    expect(textarea).to_have_value("Hi Amina, Amina here: we open at 9.")
    with database():
        assert not Message.objects.filter(direction="out").exists()  # inserted, not sent

    page.keyboard.press("Enter")  # now Enter sends, as usual
    expect(textarea).to_have_value("", timeout=SLOW)
    with database():
        assert list(Message.objects.filter(direction="out").values_list("text", flat=True)) == [
            "Hi Amina, Amina here: we open at 9."
        ]
    assert page_errors == []


def test_a_note_appears_in_the_timeline_and_is_never_sent_to_whatsapp(
    page, page_errors, agent, supervisor, password, live_server
):
    with database():
        supervisor.email = "salma@example.org"
        supervisor.save()
    deliver_text(live_server, "My parcel arrived damaged")
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")

    page.get_by_role("button", name="Internal note").click()
    note_box = page.get_by_role("textbox", name="Internal note")
    expect(note_box).to_be_focused()
    expect(page.locator("#composer")).to_have_class(re.compile(r"\bis-note\b"))
    page.keyboard.type("Photos look bad, refund approved. @sal")
    mentions = page.get_by_role("listbox", name="Colleagues to mention")
    expect(mentions.get_by_role("option")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(note_box).to_have_value("Photos look bad, refund approved. @salma ")
    page.keyboard.press("Enter")

    note = page.locator("#timeline article.msg-note", has_text="refund approved")
    expect(note).to_be_visible(timeout=LIVE)
    expect(note).to_contain_text("Internal note, not sent to the customer")
    expect(note.locator(".mention")).to_have_text("@salma")
    expect(note_box).to_have_value("")
    expect(page.locator("#timeline article.msg-out")).to_have_count(0)
    run_worker()  # everything queued runs: nothing of the note goes to WhatsApp
    assert whatsapp_messages_sent() == []
    with database():
        assert Note.objects.get().mentions.get() == supervisor
        assert not Message.objects.filter(direction="out").exists()
    assert [email.to for email in mail.outbox] == [["salma@example.org"]]
    assert "refund" not in mail.outbox[0].body
    page.reload()
    expect(page.locator("#timeline article.msg-note", has_text="refund approved")).to_be_visible()
    assert page_errors == []


def test_labelling_a_conversation_and_filtering_by_the_label_narrows_the_list(
    page, page_errors, agent, password, live_server
):
    with database():
        Label.objects.create(name="Billing", colour="blue")
        Label.objects.create(name="VIP", colour="yellow")
    deliver_text(live_server, "Where is my invoice?")
    deliver_text(live_server, "Do you ship to the UK?", sender=JOHN, name="John Carter")
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")

    page.get_by_text("Add label").click()
    page.locator(".label-menu").get_by_role("button", name="Billing").click()
    header_chip = page.locator("#conversation-header .label-chip", has_text="Billing")
    expect(header_chip).to_be_visible(timeout=SLOW)
    expect(row(page, "Amina Khalid").locator(".label-chip")).to_have_text("Billing", timeout=LIVE)
    expect(row(page, "John Carter")).to_be_visible()

    page.get_by_label("Label", exact=True).select_option(label="Billing")

    expect(row(page, "John Carter")).to_have_count(0, timeout=SLOW)
    expect(row(page, "Amina Khalid")).to_be_visible()
    assert "label=" in page.url

    page.get_by_label("Label", exact=True).select_option(label="All labels")
    expect(row(page, "John Carter")).to_be_visible(timeout=SLOW)
    assert page_errors == []
